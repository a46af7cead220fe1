import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { Empty, StreamIdentifier, UUID } from '@eventstore/db-client/generated/shared_pb';
import { AppendReq, AppendResp, DeleteReq, DeleteResp, ReadReq, ReadResp, TombstoneReq, TombstoneResp } from '@eventstore/db-client/generated/streams_pb';
import type { EsdbLog, ExpectedStreamState, ProposedEvent, StoredEvent } from './log';

type EventPredicate = (event: StoredEvent) => boolean;

export interface StreamsServiceOptions {
  /**
   * Start an `$all` subscription from a position inclusively, replaying the event at that
   * position. A real server starts after it; this lets tests prove a client does not rely on that.
   */
  replayBoundaryEvent: boolean;
  /** While false, appends are stored but not pushed to live subscriptions (a lagging server). */
  liveDelivery: () => boolean;
  /** Registers the teardown of a live subscription, so a hard stop can drop them all; returns its deregistration. */
  trackSubscription: (teardown: () => void) => () => void;
}

/** Implementations of the Streams RPCs the client uses: `Append`, `Read`, `Delete` and `Tombstone`. */
export function createStreamsService(log: EsdbLog, behaviour: StreamsServiceOptions) {
  return {
    append(call: grpc.ServerReadableStream<AppendReq, AppendResp>, callback: grpc.sendUnaryData<AppendResp>): void {
      let header: AppendReq.Options | undefined;
      const proposed: ProposedEvent[] = [];
      let failed = false;
      const fail = (code: grpc.status, details: string, metadata?: grpc.Metadata) => {
        if (failed) return;
        failed = true;
        callback(metadata ? { code, details, metadata } : { code, details });
      };

      call.on('data', (request: AppendReq) => {
        if (request.hasOptions()) {
          if (header) return fail(grpc.status.INVALID_ARGUMENT, 'Append options sent twice');
          header = request.getOptions();
          return;
        }
        const message = request.getProposedMessage();
        if (!header || !message) return fail(grpc.status.INVALID_ARGUMENT, 'Append must start with options');
        const metadata = message.getMetadataMap();
        proposed.push({
          id: parseUuid(message.getId()),
          type: metadata.get('type') ?? '',
          contentType: metadata.get('content-type') ?? 'application/octet-stream',
          data: message.getData_asU8(),
          customMetadata: message.getCustomMetadata_asU8(),
        });
      });
      call.on('error', () => {
        failed = true;
      });
      call.on('end', () => {
        if (failed) return;
        if (!header) return fail(grpc.status.INVALID_ARGUMENT, 'Append without options');
        const streamName = streamNameOf(header.getStreamIdentifier());
        const expected = expectedStateOf(header);
        const outcome = log.append(streamName, expected, proposed);
        if (outcome.kind === 'stream_deleted') {
          return fail(grpc.status.FAILED_PRECONDITION, 'Stream deleted', streamDeletedMetadata(header.getStreamIdentifier()));
        }
        const response = new AppendResp();
        if (outcome.kind === 'success') {
          const success = new AppendResp.Success();
          if (outcome.currentRevision === null) success.setNoStream(new Empty());
          else success.setCurrentRevision(String(outcome.currentRevision));
          if (outcome.position === null) success.setNoPosition(new Empty());
          else success.setPosition(new AppendResp.Position().setCommitPosition(String(outcome.position)).setPreparePosition(String(outcome.position)));
          response.setSuccess(success);
        } else {
          const wrong = new AppendResp.WrongExpectedVersion();
          if (outcome.currentRevision === null) wrong.setCurrentNoStream(new Empty());
          else wrong.setCurrentRevision(String(outcome.currentRevision));
          switch (expected.kind) {
            case 'any':
              wrong.setExpectedAny(new Empty());
              break;
            case 'no_stream':
              wrong.setExpectedNoStream(new Empty());
              break;
            case 'stream_exists':
              wrong.setExpectedStreamExists(new Empty());
              break;
            case 'revision':
              wrong.setExpectedRevision(String(expected.revision));
              break;
          }
          response.setWrongExpectedVersion(wrong);
        }
        callback(null, response);
      });
    },

    delete: deleteHandler<DeleteReq, DeleteResp>(log, false, () => new DeleteResp()),
    tombstone: deleteHandler<TombstoneReq, TombstoneResp>(log, true, () => new TombstoneResp()),

    read(call: grpc.ServerWritableStream<ReadReq, ReadResp>): void {
      const options = call.request.getOptions();
      if (!options) return endWithError(call, grpc.status.INVALID_ARGUMENT, 'Read without options');
      const toReadEvent = readEventConverter(options.getUuidOption());
      const backwards = options.getReadDirection() === ReadReq.Options.ReadDirection.BACKWARDS;
      const count = options.hasCount() ? Number(options.getCount()) : Number.POSITIVE_INFINITY;
      const subscription = options.hasSubscription();

      if (options.hasStream()) {
        if (subscription) return endWithError(call, grpc.status.UNIMPLEMENTED, 'Stream subscriptions are not implemented by the double');
        const streamOptions = options.getStream()!;
        const identifier = streamOptions.getStreamIdentifier();
        const view = log.view(streamNameOf(identifier));
        if (view === 'deleted') return endWithError(call, grpc.status.FAILED_PRECONDITION, 'Stream deleted', streamDeletedMetadata(identifier));
        if (view === 'not_found') {
          const notFound = new ReadResp.StreamNotFound();
          if (identifier) notFound.setStreamIdentifier(identifier);
          call.write(new ReadResp().setStreamNotFound(notFound));
          call.end();
          return;
        }
        // Revisions, not indexes: a stream whose first revisions are hidden starts later.
        const last = view[view.length - 1].revision;
        let selected: StoredEvent[];
        if (backwards) {
          const from = streamOptions.hasRevision() ? Number(streamOptions.getRevision()) : streamOptions.hasStart() ? -1 : last;
          selected = view.filter((event) => event.revision <= from).reverse();
        } else {
          const from = streamOptions.hasRevision() ? Number(streamOptions.getRevision()) : streamOptions.hasEnd() ? last + 1 : 0;
          selected = view.filter((event) => event.revision >= from);
        }
        for (const event of selected.slice(0, count)) call.write(new ReadResp().setEvent(toReadEvent(event)));
        call.end();
        return;
      }

      const allOptions = options.getAll();
      if (!allOptions) return endWithError(call, grpc.status.INVALID_ARGUMENT, 'Read of neither a stream nor $all');
      const matches = filterOf(options);
      const start: bigint | 'start' | 'end' = allOptions.hasPosition()
        ? BigInt(allOptions.getPosition()!.getCommitPosition())
        : allOptions.hasEnd()
          ? 'end'
          : 'start';

      if (!subscription) {
        const events = log.events();
        let selected: readonly StoredEvent[];
        if (backwards) {
          selected = [...(start === 'start' ? [] : start === 'end' ? events : events.filter((event) => event.position < start))].reverse();
        } else {
          selected = start === 'start' ? events : start === 'end' ? [] : events.filter((event) => event.position >= start);
        }
        let sent = 0;
        for (const event of selected) {
          if (sent >= count) break;
          if (!matches(event)) continue;
          call.write(new ReadResp().setEvent(toReadEvent(event)));
          sent += 1;
        }
        call.end();
        return;
      }

      call.write(new ReadResp().setConfirmation(new ReadResp.SubscriptionConfirmation().setSubscriptionId(randomUUID())));
      const deliver = (event: StoredEvent) => {
        if (matches(event)) call.write(new ReadResp().setEvent(toReadEvent(event)));
      };
      if (start !== 'end') {
        for (const event of log.events()) {
          if (start === 'start' || event.position > start || (behaviour.replayBoundaryEvent && event.position === start)) deliver(event);
        }
      }
      call.write(new ReadResp().setCaughtUp(new ReadResp.CaughtUp()));
      const unsubscribe = log.subscribe((events) => {
        if (!behaviour.liveDelivery()) return;
        for (const event of events) deliver(event);
      });
      const untrack = behaviour.trackSubscription(unsubscribe);
      const end = () => {
        unsubscribe();
        untrack();
      };
      call.on('cancelled', end);
      call.on('close', end);
      call.on('error', end);
    },
  };
}

function endWithError(call: grpc.ServerWritableStream<ReadReq, ReadResp>, code: grpc.status, details: string, metadata?: grpc.Metadata): void {
  call.emit('error', metadata ? { code, details, metadata } : { code, details });
}

/** How the server reports a tombstoned stream: the client reads `exception` to raise `StreamDeletedError`. */
function streamDeletedMetadata(identifier: StreamIdentifier | undefined): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('exception', 'stream-deleted');
  metadata.set('stream-name', streamNameOf(identifier));
  return metadata;
}

function wrongExpectedVersionMetadata(identifier: StreamIdentifier | undefined, expected: ExpectedStreamState, current: number | null): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('exception', 'wrong-expected-version');
  metadata.set('stream-name', streamNameOf(identifier));
  const code = { any: -2, no_stream: -1, stream_exists: -4 } as const;
  metadata.set('expected-version', String(expected.kind === 'revision' ? expected.revision : code[expected.kind]));
  if (current !== null) metadata.set('actual-version', String(current));
  return metadata;
}

/** `Delete` and `Tombstone` carry the same options; only the outcome for later reads differs. */
function deleteHandler<Req extends DeleteReq | TombstoneReq, Resp extends DeleteResp | TombstoneResp>(
  log: EsdbLog,
  hard: boolean,
  response: () => Resp,
) {
  return (call: grpc.ServerUnaryCall<Req, Resp>, callback: grpc.sendUnaryData<Resp>): void => {
    const options = call.request.getOptions();
    if (!options) return callback({ code: grpc.status.INVALID_ARGUMENT, details: 'Delete without options' });
    const identifier = options.getStreamIdentifier();
    let expected: ExpectedStreamState;
    if (options.hasRevision()) expected = { kind: 'revision', revision: Number(options.getRevision()) };
    else if (options.hasNoStream()) expected = { kind: 'no_stream' };
    else if (options.hasStreamExists()) expected = { kind: 'stream_exists' };
    else expected = { kind: 'any' };
    const outcome = log.delete(streamNameOf(identifier), expected, hard);
    if (outcome.kind === 'stream_deleted') {
      return callback({ code: grpc.status.FAILED_PRECONDITION, details: 'Stream deleted', metadata: streamDeletedMetadata(identifier) });
    }
    if (outcome.kind === 'wrong_expected_version') {
      return callback({
        code: grpc.status.FAILED_PRECONDITION,
        details: 'Wrong expected version',
        metadata: wrongExpectedVersionMetadata(identifier, expected, outcome.currentRevision),
      });
    }
    const resp = response();
    resp.setPosition(
      new (resp instanceof TombstoneResp ? TombstoneResp.Position : DeleteResp.Position)()
        .setCommitPosition(String(outcome.position))
        .setPreparePosition(String(outcome.position)) as never,
    );
    callback(null, resp);
  };
}

function streamNameOf(identifier: StreamIdentifier | undefined): string {
  return identifier ? Buffer.from(identifier.getStreamName_asU8()).toString('utf8') : '';
}

function expectedStateOf(header: AppendReq.Options): ExpectedStreamState {
  switch (header.getExpectedStreamRevisionCase()) {
    case AppendReq.Options.ExpectedStreamRevisionCase.REVISION:
      return { kind: 'revision', revision: Number(header.getRevision()) };
    case AppendReq.Options.ExpectedStreamRevisionCase.NO_STREAM:
      return { kind: 'no_stream' };
    case AppendReq.Options.ExpectedStreamRevisionCase.STREAM_EXISTS:
      return { kind: 'stream_exists' };
    default:
      return { kind: 'any' };
  }
}

/** Filters as the server applies them: a regex is matched anywhere, prefixes at the start. */
function filterOf(options: ReadReq.Options): EventPredicate {
  const filter = options.getFilter();
  if (!options.hasFilter() || !filter) return () => true;
  const byType = filter.hasEventType();
  const expression = byType ? filter.getEventType() : filter.getStreamIdentifier();
  if (!expression) return () => true;
  const select = (event: StoredEvent) => (byType ? event.type : event.streamName);
  const regex = expression.getRegex();
  if (regex) {
    const pattern = new RegExp(regex);
    return (event) => pattern.test(select(event));
  }
  const prefixes = expression.getPrefixList();
  return (event) => prefixes.some((prefix) => select(event).startsWith(prefix));
}

function parseUuid(uuid: UUID | undefined): string {
  if (!uuid) return randomUUID();
  if (uuid.hasString()) return uuid.getString();
  const structured = uuid.getStructured()!;
  const hex =
    BigInt.asUintN(64, BigInt(structured.getMostSignificantBits())).toString(16).padStart(16, '0') +
    BigInt.asUintN(64, BigInt(structured.getLeastSignificantBits())).toString(16).padStart(16, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function formatUuid(id: string, structured: boolean): UUID {
  const uuid = new UUID();
  if (!structured) return uuid.setString(id);
  const hex = id.replace(/-/g, '');
  return uuid.setStructured(
    new UUID.Structured()
      .setMostSignificantBits(BigInt.asIntN(64, BigInt(`0x${hex.slice(0, 16)}`)).toString())
      .setLeastSignificantBits(BigInt.asIntN(64, BigInt(`0x${hex.slice(16)}`)).toString()),
  );
}

function readEventConverter(uuidOption: ReadReq.Options.UUIDOption | undefined) {
  const structured = uuidOption?.hasStructured() ?? false;
  return (event: StoredEvent): ReadResp.ReadEvent => {
    const recorded = new ReadResp.ReadEvent.RecordedEvent()
      .setId(formatUuid(event.id, structured))
      .setStreamIdentifier(new StreamIdentifier().setStreamName(Buffer.from(event.streamName, 'utf8')))
      .setStreamRevision(String(event.revision))
      .setCommitPosition(String(event.position))
      .setPreparePosition(String(event.position))
      .setData(event.data)
      .setCustomMetadata(event.customMetadata);
    recorded
      .getMetadataMap()
      .set('type', event.type)
      .set('content-type', event.contentType)
      .set('created', String(event.createdTicks));
    return new ReadResp.ReadEvent().setEvent(recorded).setCommitPosition(String(event.position));
  };
}

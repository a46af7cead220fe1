import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { ServerFeaturesService } from '@eventstore/db-client/generated/serverfeatures_grpc_pb';
import { SupportedMethod, SupportedMethods } from '@eventstore/db-client/generated/serverfeatures_pb';
import { StreamsService } from '@eventstore/db-client/generated/streams_grpc_pb';
import { EsdbLog, type StoredEvent, type StreamView } from './log';
import { createStreamsService } from './streams-service';

export interface EsdbDoubleOptions {
  /** Port to listen on; an ephemeral loopback port by default. */
  port?: number;
  /** Replay the event at a subscription's start position (see `StreamsServiceOptions`). */
  replayBoundaryEvent?: boolean;
  /**
   * Begin the log with the server's own events, as a fresh EventStoreDB does, so clients have
   * to tell them apart from their own. Default true.
   */
  systemEvents?: boolean;
}

/** What the double reports as its version: one that sends `caught_up` and stream-read positions. */
const SERVER_VERSION = '24.10.0';

/**
 * An in-memory EventStoreDB speaking the Streams gRPC protocol on loopback, insecure, built on
 * the service definitions `@eventstore/db-client` ships. The log survives `stop()`/`restart()`,
 * so fault tests can check that nothing acknowledged was lost.
 */
export class EsdbDouble {
  private readonly log = new EsdbLog();
  private readonly subscriptionTeardowns = new Set<() => void>();
  private server: grpc.Server | null = null;
  private liveDelivery = true;
  private closed = false;

  private constructor(
    private boundPort: number,
    private readonly replayBoundaryEvent: boolean,
  ) {}

  static async start(options: EsdbDoubleOptions = {}): Promise<EsdbDouble> {
    const double = new EsdbDouble(options.port ?? 0, options.replayBoundaryEvent ?? false);
    if (options.systemEvents ?? true) {
      double.appendSystemEvent('$settings', '$settings');
      double.appendSystemEvent('$$$scavenges', '$metadata');
      double.appendSystemEvent();
    }
    await double.listen();
    return double;
  }

  get port(): number {
    return this.boundPort;
  }

  get connectionString(): string {
    return `esdb://127.0.0.1:${this.boundPort}?tls=false`;
  }

  /**
   * While paused, appends are acknowledged and stored but not pushed to live subscriptions, as
   * when a server's subscription is lagging behind its writer.
   */
  pauseLiveDelivery(): void {
    this.liveDelivery = false;
  }

  resumeLiveDelivery(): void {
    this.liveDelivery = true;
  }

  /** Write an event to a system stream the way the server itself does (statistics, settings). */
  appendSystemEvent(streamName = '$stats-127.0.0.1:2113', type = '$statistics-collected'): void {
    this.log.append(streamName, { kind: 'any' }, [
      {
        id: randomUUID(),
        type,
        contentType: 'application/json',
        data: Buffer.from('{}'),
        customMetadata: new Uint8Array(),
      },
    ]);
  }

  /**
   * Writes JSON events straight into the log, in order, as a server that already holds them
   * would: a benchmark's prefilled log costs no client round trip per append.
   */
  load(events: Iterable<{ streamName: string; id: string; type: string; data: unknown; metadata: unknown }>): void {
    for (const event of events) {
      this.log.append(event.streamName, { kind: 'any' }, [
        {
          id: event.id,
          type: event.type,
          contentType: 'application/json',
          data: Buffer.from(JSON.stringify(event.data)),
          customMetadata: Buffer.from(JSON.stringify(event.metadata)),
        },
      ]);
    }
  }

  /** A stream as a read sees it now (`'deleted'` once tombstoned). */
  streamView(streamName: string): StreamView {
    return this.log.view(streamName);
  }

  /** Every event the double still holds, in log order, hidden or not. */
  events(): readonly StoredEvent[] {
    return this.log.events();
  }

  /** Physically removes what deletions and `$maxCount` hide, as a completed scavenge does. */
  scavenge(): void {
    this.log.scavenge();
  }

  /** Hard stop: closes the listener and every connection at once, as a killed process would. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const teardown of this.subscriptionTeardowns) teardown();
    this.subscriptionTeardowns.clear();
    server.forceShutdown();
  }

  /** Start again on the same port with the same data. */
  async restart(): Promise<void> {
    if (this.closed) throw new Error('The EventStoreDB double was closed');
    await this.stop();
    await this.listen();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
  }

  private async listen(): Promise<void> {
    const server = new grpc.Server();
    server.addService(
      StreamsService,
      createStreamsService(this.log, {
        replayBoundaryEvent: this.replayBoundaryEvent,
        liveDelivery: () => this.liveDelivery,
        trackSubscription: (teardown) => {
          this.subscriptionTeardowns.add(teardown);
          return () => this.subscriptionTeardowns.delete(teardown);
        },
      }),
    );
    server.addService(ServerFeaturesService, {
      getSupportedMethods: (_call: grpc.ServerUnaryCall<unknown, SupportedMethods>, callback: grpc.sendUnaryData<SupportedMethods>) => {
        const methods = ['Read', 'Append', 'Delete', 'Tombstone'].map((name) =>
          new SupportedMethod().setServiceName('event_store.client.streams.Streams').setMethodName(name),
        );
        callback(null, new SupportedMethods().setEventStoreServerVersion(SERVER_VERSION).setMethodsList(methods));
      },
    });
    this.boundPort = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`127.0.0.1:${this.boundPort}`, grpc.ServerCredentials.createInsecure(), (error, port) =>
        error ? reject(error) : resolve(port),
      );
    });
    this.server = server;
  }
}

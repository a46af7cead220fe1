import type { Config } from '../../config';
import type { Core } from '../../gateway';
import type { Logger } from '../../logger';
import { EventWriter } from '../event-writer';
import { PushDelivery } from './push-delivery';
import { SsfStreams } from './ssf-streams';

export { SSF_PATHS, SsfStreams } from './ssf-streams';

export interface SsfTransmitter {
  streams: SsfStreams;
  /** Starts push delivery; called once the signing key exists. */
  start(): void;
  stop(): Promise<void>;
}

/** The Shared Signals Framework transmitter of a serving gateway: stream management, poll and push delivery. */
export function openSsfTransmitter(core: Core, config: Config, logger: Logger): SsfTransmitter {
  const writer = new EventWriter(core.store, core.runner, config.readYourWritesTimeoutMs, logger);
  const streams = new SsfStreams({
    store: core.store,
    writer,
    events: core.runner,
    signingKeys: core.partners.signingKeys,
    publicUrl: core.partners.publicUrl,
    clock: core.clock,
    logger,
    requireHttps: config.production,
    privateAddresses: config.ssf.pushToPrivateAddresses,
    pollWaitMs: config.ssf.pollWaitSeconds * 1000,
  });
  const push = new PushDelivery({
    store: core.store,
    events: core.runner,
    sign: (set) => streams.sign(set),
    clock: core.clock,
    logger,
    leaseMs: config.ssf.leaseSeconds * 1000,
    privateAddresses: config.ssf.pushToPrivateAddresses,
  });
  streams.start();
  return {
    streams,
    start: () => push.start(),
    async stop() {
      streams.stop();
      await push.stop();
    },
  };
}

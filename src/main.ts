import 'reflect-metadata';
import { ConfigError, loadConfig } from './config';
import { startGateway } from './gateway';
import { createLogger } from './logger';

/** `npm start`: serve the gateway until SIGTERM or SIGINT, then drain and exit. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`keyledger: ${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel });
  const gateway = await startGateway({ config, logger });
  let signalled = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal }, 'shutting down');
    const forced = setTimeout(() => {
      logger.error({}, 'shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    forced.unref();
    // Logs are written asynchronously; flush them so the last lines are not lost on exit.
    const exit = (code: number) => logger.flush(() => process.exit(code));
    gateway.stop().then(
      () => exit(0),
      (error) => {
        logger.error({ err: error }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((error) => {
  process.stderr.write(`keyledger failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP forwarder between a client and a gateway process, so a test can break the client's
 * connections (all of them, or only the upgraded WebSocket ones) and point it at another
 * process, as a network failure or a failover would.
 */
interface Pair {
  client: Socket;
  upstream: Socket;
  websocket: boolean;
}

export class TcpProxy {
  private readonly pairs = new Set<Pair>();
  private refusing: 'none' | 'websocket' | 'all' = 'none';

  private constructor(
    private readonly server: Server,
    private target: URL,
  ) {}

  static async start(targetUrl: string): Promise<TcpProxy> {
    const server = createServer();
    const proxy = new TcpProxy(server, new URL(targetUrl));
    server.on('connection', (client) => proxy.accept(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Destroys the open connections of that sort and refuses new ones until `restore`. */
  cut(which: 'websocket' | 'all'): void {
    this.refusing = which;
    for (const pair of this.pairs) {
      if (which === 'all' || pair.websocket) this.drop(pair);
    }
  }

  restore(targetUrl?: string): void {
    if (targetUrl) this.target = new URL(targetUrl);
    this.refusing = 'none';
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) this.drop(pair);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.refusing === 'all') {
      client.destroy();
      return;
    }
    client.once('data', (first: Buffer) => {
      const websocket = /^upgrade:\s*websocket/im.test(first.toString('latin1'));
      if (websocket && this.refusing === 'websocket') {
        client.destroy();
        return;
      }
      const upstream = connect(Number(this.target.port), this.target.hostname);
      const pair: Pair = { client, upstream, websocket };
      this.pairs.add(pair);
      upstream.write(first);
      client.pipe(upstream);
      upstream.pipe(client);
      const end = () => this.drop(pair);
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    client.on('error', () => client.destroy());
  }

  private drop(pair: Pair): void {
    this.pairs.delete(pair);
    pair.client.destroy();
    pair.upstream.destroy();
  }
}

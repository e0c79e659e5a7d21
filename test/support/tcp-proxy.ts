import { createServer, Server, Socket, AddressInfo, connect } from 'node:net';

/** Which bytes a held proxy drops: towards the server, towards the client, or both. */
export type HoldDirection = 'both' | 'to-server' | 'to-client';

/**
 * A TCP proxy between the service and PostgreSQL or Redis, so a test can cut one connection path
 * without stopping the server every other test shares.
 */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private refusing = false;
  private held?: HoldDirection;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  static forUrl(url: string): TcpProxy {
    const parsed = new URL(url);
    return new TcpProxy(parsed.hostname, Number(parsed.port || (parsed.protocol === 'redis:' ? 6379 : 5432)));
  }

  /** `url` with its host and port replaced by the proxy's. */
  rewrite(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.port);
    return parsed.toString();
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Drops every open connection and refuses new ones until `restore`. */
  cut(): void {
    this.refusing = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  /** Drops every open connection but keeps accepting new ones. */
  resetConnections(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  /**
   * A server that accepts and never answers: every connection, open or new, stays open while the
   * bytes flowing `direction` are swallowed, until `restore`. Nothing is reset, so only a client's own
   * timeouts notice. Bytes swallowed are gone: a connection that carried some is out of step with
   * its server afterwards, as after any lost request, and its client has to drop it.
   */
  hold(direction: HoldDirection = 'both'): void {
    this.held = direction;
  }

  /** Ends `cut` and `hold`: connections are accepted and bytes flow again. */
  restore(): void {
    this.refusing = false;
    this.held = undefined;
  }

  get connectionCount(): number {
    return this.sockets.size / 2;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(client: Socket): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(this.targetPort, this.targetHost);
    this.sockets.add(client);
    this.sockets.add(upstream);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    this.forward(client, upstream, 'to-server');
    this.forward(upstream, client, 'to-client');
  }

  /** `from` to `to` with backpressure, dropping what arrives while that direction is held. */
  private forward(from: Socket, to: Socket, direction: Exclude<HoldDirection, 'both'>): void {
    from.on('data', (chunk: Buffer) => {
      if (this.held === 'both' || this.held === direction) return;
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
    from.on('end', () => to.end());
  }
}

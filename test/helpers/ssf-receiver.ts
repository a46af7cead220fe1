import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, decodeJwt, jwtVerify, type JWTPayload } from 'jose';

export const CAEP_CREDENTIAL_CHANGE = 'https://schemas.openid.net/secevent/caep/event-type/credential-change';
export const RISC_CREDENTIAL_COMPROMISE = 'https://schemas.openid.net/secevent/risc/event-type/credential-compromise';
export const SSF_VERIFICATION = 'https://schemas.openid.net/secevent/ssf/event-type/verification';
export const PUSH = 'urn:ietf:rfc:8935';
export const POLL = 'urn:ietf:rfc:8936';

/** Verifies a SET as a receiver does: against the gateway's JWKS, with `typ: secevent+jwt`. */
export async function verifySet(jwksUrl: string, jwt: string, audience?: string): Promise<JWTPayload> {
  const { payload, protectedHeader } = await jwtVerify(jwt, createRemoteJWKSet(new URL(jwksUrl)), { typ: 'secevent+jwt', audience });
  expect(protectedHeader.typ).toBe('secevent+jwt');
  return payload;
}

export interface SsfAnswer<T = any> {
  status: number;
  body: T;
}

/** A call to the transmitter's REST API with a receiver's bearer. */
export async function ssf<T = any>(url: string, method: string, path: string, bearer: string, body?: unknown): Promise<SsfAnswer<T>> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

export interface ReceivedSet {
  jwt: string;
  jti: string;
  /** The status the receiver answered, or null if the request ended before it answered. */
  answered: number | null;
}

/**
 * A push receiver (RFC 8935): records every SET POSTed to it, and answers each as `answer`
 * decides: a status, or 'hold' to keep the request open until `release`.
 */
export class PushReceiver {
  readonly received: ReceivedSet[] = [];
  private server!: Server;
  private readonly held: Array<{ res: ServerResponse; set: ReceivedSet }> = [];
  private readonly listeners = new Set<() => void>();
  answer: (set: ReceivedSet) => number | 'hold' = () => 202;

  static async start(): Promise<PushReceiver> {
    const receiver = new PushReceiver();
    receiver.server = createServer((req, res) => void receiver.handle(req, res));
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/events`;
  }

  /** SETs this receiver accepted with 202, in order. */
  get accepted(): ReceivedSet[] {
    return this.received.filter((set) => set.answered === 202);
  }

  /** Resolves once `check` holds, re-checked on every request the receiver gets. */
  until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => {
      const listener = () => {
        if (!check()) return;
        this.listeners.delete(listener);
        resolve();
      };
      this.listeners.add(listener);
    });
  }

  async close(): Promise<void> {
    for (const { res } of this.held.splice(0)) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const jwt = Buffer.concat(chunks).toString('utf8');
    if (req.headers['content-type'] !== 'application/secevent+jwt') {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ err: 'invalid_request', description: 'not a SET' }));
      return;
    }
    const set: ReceivedSet = { jwt, jti: String(decodeJwt(jwt).jti), answered: null };
    this.received.push(set);
    const answer = this.answer(set);
    if (answer === 'hold') this.held.push({ res, set });
    else {
      set.answered = answer;
      res.writeHead(answer).end();
    }
    for (const listener of [...this.listeners]) listener();
  }
}

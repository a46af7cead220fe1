import type { IncomingMessage } from 'node:http';
import { clientAddressOf } from '../../../src/http/client-address';

function request(peer: string, forwardedFor?: string): IncomingMessage {
  return { socket: { remoteAddress: peer }, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } } as unknown as IncomingMessage;
}

describe('clientAddressOf (WebSocket upgrades)', () => {
  it('without trusted proxies, is the peer whatever X-Forwarded-For claims', () => {
    expect(clientAddressOf(false)(request('10.0.0.5', '203.0.113.9'))).toBe('10.0.0.5');
  });

  it('with a hop count, takes that many proxies off the end of the chain', () => {
    const address = clientAddressOf(1);
    expect(address(request('10.0.0.5', '203.0.113.9'))).toBe('203.0.113.9');
    expect(address(request('10.0.0.5', '198.51.100.1, 203.0.113.9'))).toBe('203.0.113.9');
    expect(address(request('10.0.0.5'))).toBe('10.0.0.5');
  });

  it('with a list, walks back through trusted proxies only, so a client cannot prepend a forged address', () => {
    const address = clientAddressOf(['loopback', '10.0.0.0/8']);
    expect(address(request('127.0.0.1', '203.0.113.9'))).toBe('203.0.113.9');
    expect(address(request('127.0.0.1', '198.51.100.66, 203.0.113.9, 10.1.2.3'))).toBe('203.0.113.9');
    expect(address(request('192.0.2.7', '203.0.113.9'))).toBe('192.0.2.7');
  });
});

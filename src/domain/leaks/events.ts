import type { TokenKind } from '../tokens/events';

/**
 * Leak reports. A code host's secret scanning reports secrets it found in public places; each
 * signed report is recorded once, in a stream named by an HMAC of its body, together with a
 * `TokenLeakReported` for every confirmed token the policy leaves valid (`notify`). Tokens
 * the policy revokes get a `TokenRevoked` with the reason `leaked` on their own stream instead.
 * No field holds a secret or anything derived from one that could be matched against it:
 * tokens are named by id, the report by an HMAC of its body under a key of the deployment.
 */
export interface SecretScanningReportReceived {
  type: 'SecretScanningReportReceived';
  data: {
    /** Hex HMAC-SHA256 of the signed body under a deployment key: what makes a replay of the same body recognisable. */
    reportId: string;
    /** `github`. */
    source: string;
    /** Matches in the report, and how many of them were keyledger tokens. */
    matches: number;
    truePositives: number;
    receivedAt: string;
  };
}

/** A confirmed leak of a token that the policy for its kind leaves valid: its owners must act. */
export interface TokenLeakReported {
  type: 'TokenLeakReported';
  data: {
    tokenId: string;
    tenantId: string;
    kind: TokenKind;
    source: string;
    url: string | null;
    reportId: string;
    /** Always `notify` today: a `revoke` policy writes `TokenRevoked` instead. */
    action: 'notify';
    reportedAt: string;
  };
}

export type LeakEvent = SecretScanningReportReceived | TokenLeakReported;
export type LeakEventType = LeakEvent['type'];
export const LEAK_EVENT_TYPES: readonly LeakEventType[] = ['SecretScanningReportReceived', 'TokenLeakReported'];

export const leakReportStreamId = (source: string, reportId: string) => `leak-report-${source}-${reportId}`;

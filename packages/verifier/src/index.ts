export { createVerifier } from './verifier.js';
export type { Verifier, VerifierOptions, WhileDisconnected } from './verifier.js';
export { bearerOf } from './bearer.js';
export type {
  RevocationNotice,
  Verdict,
  VerificationCode,
  VerifierLogger,
  VerifierMetrics,
  VerifierStats,
  VerifyOptions,
} from './types.js';

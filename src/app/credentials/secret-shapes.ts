/** Longest secret verification looks at; anything longer is malformed, not looked up. */
export const MAX_SECRET_LENGTH = 512;
/** Longest credential in any form (a JWT carries claims besides the key id). */
export const MAX_PRESENTED_LENGTH = 4096;
/** Chosen or imported secrets must be at least this long to be accepted or looked up at all. */
export const MIN_CHOSEN_SECRET_LENGTH = 16;
export const CHOSEN_SECRET_PATTERN = /^[\x21-\x7e]+$/;
/** The shape of a generated secret: a short lower-case prefix, `_`, base62. */
export const GENERATED_SHAPE = /^[a-z][a-z0-9]{1,9}_[0-9A-Za-z]*$/;
/** Prefixes keyledger generates (`klt_`, `klw_`, `kli_`, `klp_`, `klps_`); nobody imports secrets shaped like them. */
export const KEYLEDGER_PREFIX = /^kl[a-z]{1,3}_/;

/** Whether a secret someone chose may be imported, or looked up when presented. */
export function isChosenSecretShape(secret: string): boolean {
  return secret.length >= MIN_CHOSEN_SECRET_LENGTH && secret.length <= MAX_SECRET_LENGTH && CHOSEN_SECRET_PATTERN.test(secret);
}

import { useEffect, useState } from 'preact/hooks';
import { Empty, ErrorNote } from '../components/status';
import { TOKEN_REVOKED, type RevocationNotice } from '../documents';
import type { ConsoleError } from '../errors';
import { when } from '../format';
import { tokenHref } from '../router';
import { useSession } from '../session';

const KEPT = 200;

/** The tokenRevoked subscription, live: a revocation made anywhere shows up here without a reload. */
export function RevocationsPage() {
  const { api } = useSession();
  const [notices, setNotices] = useState<RevocationNotice[]>([]);
  const [error, setError] = useState<ConsoleError | null>(null);
  const [live, setLive] = useState(false);

  useEffect(() => {
    setLive(true);
    return api.subscribe<{ tokenRevoked: RevocationNotice }>(
      TOKEN_REVOKED,
      {},
      ({ tokenRevoked }) => {
        setError(null);
        setNotices((previous) => [tokenRevoked, ...previous.filter((notice) => notice.eventId !== tokenRevoked.eventId)].slice(0, KEPT));
      },
      (failure) => {
        setLive(false);
        setError(failure);
      },
    );
  }, [api]);

  return (
    <>
      <h1>Revocations</h1>
      <p class="note">
        {live ? 'Live: revocations and rotations appear here as they happen, anywhere.' : 'Not connected.'} Only those since this page opened are shown.
      </p>
      <ErrorNote error={error} />
      {notices.length === 0 && <Empty>No revocations since this page opened.</Empty>}
      <ol class="feed" aria-live="polite" aria-label="Revocations, newest first">
        {notices.map((notice) => (
          <li key={notice.eventId}>
            <strong>{notice.kind === 'REVOKED' ? 'Revoked' : 'Rotated'}</strong> <a href={tokenHref(notice.tokenId)}>{notice.tokenId}</a>
            <span class="note">
              {' '}
              {notice.kind === 'REVOKED' ? 'at' : 'old secret refused from'} {when(notice.effectiveAt)} by {notice.actor.type} {notice.actor.id}
            </span>
            {notice.reason && <p class="reason">Reason: {notice.reason}</p>}
          </li>
        ))}
      </ol>
    </>
  );
}

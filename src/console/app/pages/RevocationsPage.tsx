import { useEffect, useState } from 'preact/hooks';
import { Empty, ErrorNote } from '../components/status';
import { TOKEN_REVOKED, type RevocationNotice } from '../documents';
import type { ConsoleError } from '../errors';
import { when } from '../format';
import { tokenHref } from '../router';
import { useSession } from '../session';

const KEPT = 200;

/** How each kind of notice reads in the feed. */
const NOTICE_LABELS: Record<RevocationNotice['kind'], { title: string; from: string }> = {
  REVOKED: { title: 'Revoked', from: 'at' },
  ROTATED: { title: 'Rotated', from: 'old secret refused from' },
  PARTNER_TOKEN_REVOKED: { title: 'Partner access token revoked', from: 'at' },
  PARTNER_CREDENTIAL_REVOKED: { title: 'Partner credential revoked', from: 'with every access token it obtained, at' },
  DISABLED: { title: 'Disabled', from: 'refused until enabled again, from' },
};

/** Tokens have a page of their own; a partner credential is found on the partners page. */
function noticeHref(notice: RevocationNotice): string {
  return notice.kind === 'PARTNER_CREDENTIAL_REVOKED' ? '#/partners' : tokenHref(notice.tokenId);
}

/** The tokenRevoked subscription, live: a revocation made anywhere shows up here without a reload. */
export function RevocationsPage() {
  const { api } = useSession();
  const [notices, setNotices] = useState<RevocationNotice[]>([]);
  const [error, setError] = useState<ConsoleError | null>(null);
  const [live, setLive] = useState(false);

  useEffect(() => {
    // The last notice seen: after a dropped connection the feed resumes from it, so revocations made meanwhile still show.
    let lastPosition: string | null = null;
    const start = () =>
      api.subscribe<{ tokenRevoked: RevocationNotice }>(
        TOKEN_REVOKED,
        lastPosition === null ? {} : { afterPosition: lastPosition },
        ({ tokenRevoked }) => {
          lastPosition = tokenRevoked.position;
          setLive(true);
          setError(null);
          setNotices((previous) => [tokenRevoked, ...previous.filter((notice) => notice.eventId !== tokenRevoked.eventId)].slice(0, KEPT));
        },
        (failure) => {
          setLive(false);
          setError(failure);
        },
      );
    setLive(true);
    let unsubscribe = start();
    const stopListening = api.onReconnect(() => {
      unsubscribe();
      unsubscribe = start();
      setLive(true);
    });
    return () => {
      stopListening();
      unsubscribe();
    };
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
            <strong>{NOTICE_LABELS[notice.kind].title}</strong>{' '}
            {notice.kind === 'PARTNER_TOKEN_REVOKED' ? <code>{notice.tokenId}</code> : <a href={noticeHref(notice)}>{notice.tokenId}</a>}
            <span class="note">
              {' '}
              {NOTICE_LABELS[notice.kind].from} {when(notice.effectiveAt)} by {notice.actor.type} {notice.actor.id}
            </span>
            {notice.reason && <p class="reason">Reason: {notice.reason}</p>}
          </li>
        ))}
      </ol>
    </>
  );
}

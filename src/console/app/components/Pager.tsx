interface PagerProps {
  /** 1-based. */
  page: number;
  hasNext: boolean;
  onPrevious(): void;
  onNext(): void;
  total?: number;
}

export function Pager({ page, hasNext, onPrevious, onNext, total }: PagerProps) {
  return (
    <div class="pager">
      <button type="button" onClick={onPrevious} disabled={page <= 1}>
        Previous page
      </button>
      <span class="note">
        Page {page}
        {total !== undefined ? ` · ${total} in all` : ''}
      </span>
      <button type="button" onClick={onNext} disabled={!hasNext}>
        Next page
      </button>
    </div>
  );
}


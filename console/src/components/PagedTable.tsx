// The tenant pages' cursor-paged lists share one pager, load, and error/loading/table/pager block.
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { ErrorBanner, Loading, Table } from "./ui";
import { useLoad } from "./useLoad";

/** A list answer of the tenant API: `{data, pagination}`. */
type ListPage = { data: unknown[]; pagination: { next_cursor?: string | null } };

/** The rows of a list answer (`{data, pagination}`), typed as the object the page shows. */
export function rows<T>(list: { data: unknown[] } | undefined): T[] {
  return (list?.data ?? []) as T[];
}

/** The next page's cursor of a list answer, if there is one. */
export function nextCursor(list: { pagination: { next_cursor?: string | null } } | undefined): string | null {
  return list?.pagination.next_cursor ?? null;
}

/** Cursor paging: the cursors of the pages before this one, so "Previous page" works too. */
export function usePager() {
  const [stack, setStack] = useState<string[]>([]);
  return {
    cursor: stack.length ? stack[stack.length - 1] : undefined,
    page: stack.length + 1,
    next: (cursor: string) => setStack([...stack, cursor]),
    previous: () => setStack(stack.slice(0, -1)),
    reset: () => setStack([]),
  };
}

export type Pager = ReturnType<typeof usePager>;

/** "Previous page" and "Next page" buttons, shown when there is more than one page. */
export function PageButtons({ pager, next }: { pager: Pager; next: string | null }) {
  if (!pager.cursor && !next) return null;
  return (
    <div class="actions pager">
      <button type="button" class="secondary" disabled={!pager.cursor} onClick={pager.previous}>
        Previous page
      </button>
      <span class="muted">Page {pager.page}</span>
      <button type="button" class="secondary" disabled={!next} onClick={() => next && pager.next(next)}>
        Next page
      </button>
    </div>
  );
}

export interface PagedList<T> {
  pager: Pager;
  items: T[];
  next: string | null;
  error: Error | null;
  loading: boolean;
  reload: () => Promise<void>;
}

/** Loads the page of a list that the pager points at; again when `deps` change. */
export function usePagedList<T>(load: (cursor: string | undefined) => Promise<ListPage>, deps: unknown[]): PagedList<T> {
  const pager = usePager();
  const { data, error, loading, reload } = useLoad(() => load(pager.cursor), [...deps, pager.cursor]);
  return { pager, items: rows<T>(data), next: nextCursor(data), error, loading, reload };
}

/** A paged list's error, "Loading…", table (saying when it is empty) and page buttons. */
export function PagedTable<T>({
  list,
  caption,
  head,
  children,
}: {
  list: PagedList<T>;
  caption: string;
  head: string[];
  children: ComponentChildren;
}) {
  return (
    <>
      <ErrorBanner error={list.error} />
      <Loading loading={list.loading} />
      <Table caption={caption} head={head} empty={!list.loading && !list.items.length}>
        {children}
      </Table>
      <PageButtons pager={list.pager} next={list.next} />
    </>
  );
}

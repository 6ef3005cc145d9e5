// The list pages' search toolbar: their fields, a Search button, and paging restarted on search.
import type { ComponentChildren } from "preact";
import type { Pager } from "./PagedTable";

export function SearchForm({
  pager,
  onSearch,
  children,
}: {
  pager: Pager;
  onSearch: () => void;
  children: ComponentChildren;
}) {
  return (
    <form
      class="toolbar"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        pager.reset();
        onSearch();
      }}
    >
      {children}
      <button type="submit">Search</button>
    </form>
  );
}

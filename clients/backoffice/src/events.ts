// The event feed (GET /admin/v1/events) as an async iterator that resumes where it was left.
// The feed's cursor marks a page's end, not an event's: it is stored once the loop has
// finished with a page, and a loop left in the middle of a page stores the exact position by
// asking for that page again, cut after the last event handled.
import type { BackofficeClient } from "./client.js";
import { BackofficeError } from "./errors.js";
import { pause } from "./pause.js";
import type { BackofficeEvent } from "./webhooks.js";

export interface EventsOptions {
  /** Where to start: a cursor stored by `onCursor`. Absent or null: the start of the feed. */
  cursor?: string | null;
  /**
   * Called with a cursor each time the loop has handled every event before it; store it and
   * start from it next time. An event counts as handled when the loop asks for the next one:
   * leaving the loop (break, return, throw) while handling one leaves it to come again.
   */
  onCursor?: (cursor: string) => void | Promise<void>;
  /** Events per page (1 to 100, default 100). */
  limit?: number;
  /** Once the feed is drained, keep asking for new events (every `interval`) until `signal` aborts. */
  follow?: boolean;
  /** Milliseconds between two polls of a drained feed when following (default 5,000). */
  interval?: number;
  /** Ends the iteration (without an error) at its next wait, request or event. */
  signal?: AbortSignal;
}

/**
 * Every event after `cursor`, in commit order, once each, page after page until the feed
 * is drained (and then as they come with `follow`).
 *
 * ```ts
 * for await (const event of events(bo, { cursor: await load(), onCursor: save })) await handle(event);
 * ```
 *
 * @throws BackofficeError when the back office refuses a page (an unknown cursor is 400
 * `invalid_parameter`); network failures, once the client's retries are spent.
 */
export async function* events(client: BackofficeClient, options: EventsOptions = {}): AsyncGenerator<BackofficeEvent, void, undefined> {
  const { onCursor, limit = 100, follow = false, interval = 5_000, signal } = options;
  let after = options.cursor ?? undefined;
  // The page being handed out: where it started and how many of its events were handled.
  let open: { from: string | undefined; handled: number } | undefined;
  try {
    for (;;) {
      const page = await feedPage(client, after, limit, signal);
      if (page === undefined) return;
      open = { from: after, handled: 0 };
      for (const event of page.data) {
        if (signal?.aborted) return;
        yield event;
        open.handled++;
      }
      open = undefined;
      if (page.next_cursor !== after) {
        after = page.next_cursor;
        await onCursor?.(after);
      }
      if (page.data.length === limit) continue;
      if (!follow) return;
      try {
        await pause(interval, signal);
      } catch (error) {
        if (signal?.aborted) return;
        throw error;
      }
    }
  } finally {
    if (open && open.handled > 0 && onCursor) {
      // Best effort: if this fails, the stored cursor is the page's start, and the events
      // handled on it come again (never one skipped).
      const cut = await feedPage(client, open.from, open.handled).catch(() => undefined);
      if (cut) await onCursor(cut.next_cursor);
    }
  }
}

/** One page of the feed, or undefined when `signal` aborted the request. */
async function feedPage(client: BackofficeClient, after: string | undefined, limit: number, signal?: AbortSignal) {
  try {
    const { data, error, response } = await client.GET("/admin/v1/events", {
      params: { query: { after, limit } },
      signal,
    });
    if (error !== undefined || !data) throw new BackofficeError(response, error);
    return data;
  } catch (error) {
    if (signal?.aborted) return undefined;
    throw error;
  }
}

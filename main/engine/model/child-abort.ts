// Many chunk requests of one file share that file's abort signal. Adding a listener per request
// to it tripped Node's MaxListenersExceededWarning on every big pull (issue 8); here each parent
// signal gets one listener, and the requests in flight under it are kept in a set.

const children = new WeakMap<AbortSignal, Set<AbortController>>();

/**
 * A controller that aborts when `parent` does (with its reason). Call `release` when the work it
 * guards ends, so the parent forgets it.
 */
export function childAbort(parent: AbortSignal): { controller: AbortController; release: () => void } {
  const controller = new AbortController();
  if (parent.aborted) {
    controller.abort(parent.reason);
    return { controller, release: () => {} };
  }
  let set = children.get(parent);
  if (!set) {
    const fresh = new Set<AbortController>();
    children.set(parent, fresh);
    set = fresh;
    parent.addEventListener(
      'abort',
      () => {
        for (const c of fresh) c.abort(parent.reason);
        fresh.clear();
        children.delete(parent);
      },
      { once: true },
    );
  }
  set.add(controller);
  const own = set;
  return { controller, release: () => own.delete(controller) };
}

// Ctrl-C: the first one asks training to stop after the current batch (the
// results so far are then printed, plotted and saved); a second one quits at once.
//
// Training is synchronous, so the handler runs only when the loop lets the event
// loop turn: the commands await yieldToEventLoop() after every batch (MLP) or
// epoch (weight decay) and then check interrupted().

let requested = false;
let installed: (() => void) | null = null;
const cleanups = new Set<() => void>();

export function interrupted(): boolean {
  return requested;
}

/** Something to undo before a forced exit (a hidden cursor). */
export function onForcedExit(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

export function installInterruptHandler(note: (message: string) => void): void {
  if (installed) return;
  const handler = () => {
    if (!requested) {
      requested = true;
      note("stopping after the current batch (Ctrl-C again to quit now)");
      return;
    }
    for (const c of cleanups) c();
    process.exit(130);
  };
  process.on("SIGINT", handler);
  installed = () => process.off("SIGINT", handler);
}

export function uninstallInterruptHandler(): void {
  installed?.();
  installed = null;
}

/**
 * The session (exec) channels one connection may have open at once: sshd allows MaxSessions per
 * connection (maxChannels; 1 on dropbear), so a command waits here for a free slot, until its
 * deadline, instead of being refused by the server.
 */
export class SessionSlots {
  inUse = 0;
  private waiters: Array<() => void> = [];

  constructor(public limit: number) {}

  /**
   * Waits for a free slot and takes it: "closed" when `closed()` turned true meanwhile (the
   * caller reconnects), "expired" when `deadline` (ms since the epoch) passed first.
   */
  async acquire(deadline: number, closed: () => boolean): Promise<"acquired" | "closed" | "expired"> {
    const expired = () => Date.now() >= deadline;
    while (this.inUse >= this.limit && !closed() && !expired()) {
      await new Promise<void>((resolve) => {
        // After the other timers due now: a holder whose deadline is this same instant tears the
        // connection down first, and this command, which never started, then starts over.
        const timer = setTimeout(() => setImmediate(wake), deadline - Date.now());
        function wake() {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.push(wake);
      });
    }
    if (closed()) return "closed";
    if (expired()) return "expired";
    this.inUse++;
    return "acquired";
  }

  release(): void {
    this.inUse--;
    // Every waiter checks again for itself (one wakes, the others wait on).
    this.wakeAll();
  }

  wakeAll(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}

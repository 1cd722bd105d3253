import type { Client } from "ssh2";
import { RootShells } from "./root-shells";
import { SessionSlots } from "./session-slots";

/**
 * One SSH connection held by the pool: its session slots, the tunnels other connections run
 * through it, and the idle countdown that closes it once it carries neither.
 */
export class PooledConnection {
  /** Settles when the handshake is done (see Connector). */
  ready: Promise<void> = Promise.resolve();
  closed = false;
  readonly slots: SessionSlots;
  /** The root shells commands run in when the connection has `sudo: true` (see RootShells). */
  readonly rootShells: RootShells;
  /**
   * Tunnels to other hosts open through this one (this is their jump host). They take no
   * session slot (sshd's MaxSessions counts sessions only) but keep the connection from idling.
   */
  private openTunnels = 0;
  private idleTimer?: NodeJS.Timeout;

  constructor(
    readonly key: string,
    readonly endpoint: string,
    readonly client: Client,
    maxChannels: number,
    private readonly idleCloseMs: () => number,
    /** Called once the connection is out of use for good, so its owner forgets it. */
    private readonly forgotten: (pooled: PooledConnection) => void,
  ) {
    this.slots = new SessionSlots(maxChannels);
    this.rootShells = new RootShells(this, () => this.slots.limit);
  }

  /** A session slot, before `deadline`: see SessionSlots.acquire. */
  async acquireSlot(deadline: number): Promise<"acquired" | "closed" | "expired"> {
    this.keepOpen();
    const slot = await this.slots.acquire(deadline, () => this.closed);
    // Also after a wait: the slot's last holder started the idle countdown when it let go.
    if (slot === "acquired") this.keepOpen();
    return slot;
  }

  releaseSlot(): void {
    this.slots.release();
    this.idleWhenUnused();
  }

  shellIdle(): void {
    this.idleWhenUnused();
  }

  shellTaken(): void {
    this.keepOpen();
  }

  /** Counted from the tunnel request on, so that the connection does not idle out meanwhile. */
  openTunnel(): void {
    this.openTunnels++;
    this.keepOpen();
  }

  closeTunnel(): void {
    this.openTunnels--;
    this.idleWhenUnused();
  }

  /** Closes the connection politely (the server is answering). */
  drop(): void {
    this.forget();
    this.client.end();
  }

  /** Tears the connection down without waiting for the server, which stopped answering. */
  destroy(): void {
    this.forget();
    this.client.destroy();
  }

  /** Marks the connection closed and releases everything waiting for one of its slots. */
  forget(): void {
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.forgotten(this);
    this.slots.wakeAll();
    this.rootShells.wakeAll();
  }

  private keepOpen(): void {
    clearTimeout(this.idleTimer);
  }

  /** Starts the idle countdown of a connection that runs no command and carries no tunnel. */
  idleWhenUnused(): void {
    // An idle root shell holds a session slot but runs nothing.
    const unused = () => this.slots.inUse === this.rootShells.idleCount && this.openTunnels === 0 && !this.closed;
    if (!unused()) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => unused() && this.drop(), this.idleCloseMs());
    this.idleTimer.unref();
  }
}

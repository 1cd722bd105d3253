import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Client } from "ssh2";
import { afterAll, describe, expect, it } from "vitest";
import { type Connection, parseConnection } from "./connection";
import { RootShell } from "./root-shell";
import { RootShells, type ShellHost } from "./root-shells";
import { SessionSlots } from "./session-slots";

// RootShells without SSH: a client whose exec runs the command line in a local sh, with a
// stand-in `sudo` first on PATH (one that runs the command, or one that refuses like sudo).
const bin = mkdtempSync(path.join(tmpdir(), "netdev-root-shells-"));
afterAll(() => rmSync(bin, { recursive: true, force: true }));
function fakeSudo(name: string, body: string): string {
  const dir = path.join(bin, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  writeFileSync(path.join(dir, "sudo"), `#!/bin/sh\n${body}\n`);
  chmodSync(path.join(dir, "sudo"), 0o755);
  return dir;
}
const RUNS = fakeSudo("runs", 'while [ "$1" != -- ]; do shift; done; shift; exec "$@"');
const REFUSES = fakeSudo("refuses", "echo 'sudo: a password is required' >&2; exit 1");

/** A session channel's surface that RootShells uses, over a local child process. */
class LocalChannel extends EventEmitter {
  readonly stderr = new EventEmitter();
  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    super();
    child.stdout.on("data", (chunk: Buffer) => this.emit("data", chunk));
    child.stderr.on("data", (chunk: Buffer) => this.stderr.emit("data", chunk));
    child.on("exit", (code) => this.emit("exit", code));
    child.on("close", () => this.emit("close"));
  }
  write(text: string): void {
    this.child.stdin.write(text);
  }
  close(): void {
    this.child.kill("SIGKILL");
  }
}

function localHost(sudoDir: string, limit: number) {
  const slots = new SessionSlots(limit);
  const children: ChildProcessWithoutNullStreams[] = [];
  const execs: string[] = [];
  const client = {
    exec(command: string, callback: (error: Error | undefined, channel: LocalChannel) => void) {
      execs.push(command);
      const child = spawn("sh", ["-c", command], { env: { ...process.env, PATH: `${sudoDir}:${process.env.PATH}` } });
      children.push(child);
      callback(undefined, new LocalChannel(child));
    },
  };
  const host: ShellHost & { closed: boolean } = {
    client: client as unknown as Client,
    closed: false,
    acquireSlot: (deadline) => slots.acquire(deadline, () => host.closed),
    releaseSlot: () => slots.release(),
    shellIdle: () => {},
    shellTaken: () => {},
  };
  const shells = new RootShells(host, () => limit);
  const stop = () => {
    for (const child of children) child.kill("SIGKILL");
  };
  return { host, shells, slots, execs, stop };
}

const connection: Connection = parseConnection({ host: "192.0.2.1", user: "admin", sudo: true, password: "x", hostKey: `SHA256:${"A".repeat(43)}` });
const far = () => Date.now() + 20_000;

describe("root shells of one connection", () => {
  it("starts one sudo per shell, at most the session limit, and runs concurrent commands each in a shell of its own", async () => {
    const { shells, slots, execs, stop } = localHost(RUNS, 3);
    try {
      const run = async (i: number) => {
        const shell = await shells.take(connection, far());
        if (!(shell instanceof RootShell)) throw new Error(`no shell: ${JSON.stringify(shell)}`);
        try {
          return await shell.run(["sh", "-c", `echo "$PPID ${i}"`], undefined, far(), 1 << 20);
        } finally {
          shells.release(shell);
        }
      };
      const outcomes = await Promise.all(Array.from({ length: 12 }, (_, i) => run(i)));
      const parents = new Set<string>();
      outcomes.forEach((outcome, i) => {
        if (outcome.kind !== "exit") throw new Error(`command ${i}: ${outcome.kind}`);
        const [parent, echoed] = outcome.stdout.trim().split(" ");
        expect(echoed).toBe(String(i));
        parents.add(parent!);
      });
      expect(execs.length).toBe(3);
      expect(execs.every((command) => command.startsWith("sudo -n -- sh -c "))).toBe(true);
      expect(parents.size).toBe(3);
      // Idle shells keep their session slots, and the next command reuses one of them.
      expect(slots.inUse).toBe(3);
      expect(shells.idleCount).toBe(3);
      await run(12);
      expect(execs.length).toBe(3);
    } finally {
      stop();
    }
  });

  it("gives sudo's words and status when sudo refuses to start the shell, and frees the session slot", async () => {
    const { shells, slots, stop } = localHost(REFUSES, 2);
    try {
      expect(await shells.take(connection, far())).toEqual({ sudoRefused: { stderr: "sudo: a password is required\n", exitCode: 1 } });
      expect(slots.inUse).toBe(0);
    } finally {
      stop();
    }
  });

  it("says 'expired' when every shell stays busy past the deadline, and 'closed' once the connection closed", async () => {
    const { host, shells, stop } = localHost(RUNS, 1);
    try {
      const busy = await shells.take(connection, far());
      expect(busy).toBeInstanceOf(RootShell);
      expect(await shells.take(connection, Date.now() + 200)).toBe("expired");
      const waiting = shells.take(connection, far());
      host.closed = true;
      shells.wakeAll();
      expect(await waiting).toBe("closed");
    } finally {
      stop();
    }
  });

  it("forgets a shell that ended, and starts another for the next command", async () => {
    const { shells, slots, execs, stop } = localHost(RUNS, 1);
    try {
      const first = await shells.take(connection, far());
      if (!(first instanceof RootShell)) throw new Error("no shell");
      shells.release(first);
      first.close();
      await new Promise<void>((resolve) => first.onClose(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect(slots.inUse).toBe(0);
      expect(shells.idleCount).toBe(0);
      const second = await shells.take(connection, far());
      expect(second).toBeInstanceOf(RootShell);
      expect(execs.length).toBe(2);
    } finally {
      stop();
    }
  });
});

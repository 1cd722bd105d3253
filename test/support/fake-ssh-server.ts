import { spawn } from "node:child_process";
import type { AddressInfo } from "node:net";
import { type Connection as ServerConnection, Server, type ServerChannel, utils } from "ssh2";
import { type ConnectionInput, parseConnection } from "../../provider/ssh/connection";

/** What the fake server does with a request; "answer" behaves like a healthy sshd. */
export interface FakeBehaviour {
  /** Session channel opens: "silent" never confirms nor refuses them. */
  session: "answer" | "silent";
  /**
   * Exec requests: "silent" never answers; "flood" writes `floodBytes` to stdout first; "shell"
   * runs the command with this machine's `sh -c`, as sshd would (batches need a real shell).
   */
  exec: "answer" | "silent" | "flood" | "shell";
  /** direct-tcpip (jump host tunnel) requests: "silent" never answers; "refuse" refuses. */
  tunnel: "forward" | "silent" | "refuse";
  /** How many exec requests get the `exec` behaviour; later ones are answered normally. */
  misbehaveFirst: number;
  floodBytes: number;
  /** Written to stderr by every answered exec (before the exit trailer). */
  stderr: string;
  /** Environment of the commands run by "shell" (default: this process's). */
  shellEnv?: NodeJS.ProcessEnv;
}

/**
 * ssh2 1.17's generateKeyPairSync("ed25519") now and then returns a private key its own
 * parser refuses ("Malformed OpenSSH private key", seen once in ~40 runs here): draw again.
 */
export function parsableKeyPair(): { private: string; public: string } {
  for (let attempt = 0; ; attempt++) {
    const pair = utils.generateKeyPairSync("ed25519");
    if (!(utils.parseKey(pair.private) instanceof Error) || attempt >= 20) return pair;
  }
}

/**
 * An SSH server on 127.0.0.1, in this process, that can hang at any step of a remote
 * operation: the faults the transport's deadlines must survive. An answered exec prints its
 * command line on stdout and exits 0, with the exit trailer the transport expects.
 */
export class FakeSshServer {
  readonly hostKey = parsableKeyPair();
  readonly clientKey = parsableKeyPair();
  readonly behaviour: FakeBehaviour = { session: "answer", exec: "answer", tunnel: "forward", misbehaveFirst: Infinity, floodBytes: 0, stderr: "" };
  execs: string[] = [];
  tunnelRequests = 0;
  port = 0;
  private server?: Server;
  private readonly clients = new Set<ServerConnection>();

  constructor(
    private readonly software = "OpenSSH_9.2p1",
    behaviour: Partial<FakeBehaviour> = {},
  ) {
    Object.assign(this.behaviour, behaviour);
  }

  async start(): Promise<this> {
    this.server = new Server({ hostKeys: [this.hostKey.private], ident: this.software }, (client) => {
      this.clients.add(client);
      client.on("close", () => this.clients.delete(client));
      client.on("error", () => undefined);
      client.on("authentication", (ctx) => ctx.accept());
      client.on("tcpip", (accept, reject, info) => {
        this.tunnelRequests++;
        if (this.behaviour.tunnel === "silent") return;
        if (this.behaviour.tunnel === "refuse") return reject();
        const { connect } = require("node:net") as typeof import("node:net");
        const upstream = connect(info.destPort, info.destIP, () => {
          const channel = accept();
          channel.pipe(upstream).pipe(channel);
          channel.on("error", () => upstream.destroy());
        });
        upstream.on("error", () => undefined);
      });
      client.on("session", (acceptSession) => {
        if (this.behaviour.session === "silent") return;
        acceptSession().on("exec", (accept, _reject, info) => {
          this.execs.push(info.command);
          const misbehave = this.execs.length <= this.behaviour.misbehaveFirst;
          if (misbehave && this.behaviour.exec === "silent") return;
          const channel = accept();
          if (misbehave && this.behaviour.exec === "flood") return flood(channel, this.behaviour.floodBytes);
          if (this.behaviour.exec === "shell") return runInShell(channel, info.command, this.behaviour.shellEnv);
          // Echo the command line without the exit trailer the transport appends.
          channel.write(`${info.command.replace(/; echo __netdev_exit_status=.*$/, "")}\n`);
          channel.stderr.write(`${this.behaviour.stderr}__netdev_exit_status=0\n`);
          channel.exit(0);
          channel.end();
        });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.server!.address() as AddressInfo).port;
    return this;
  }

  /** Connection args for this server; `jumpHost` reaches it through another fake server. */
  input(overrides: Partial<ConnectionInput> = {}): ConnectionInput {
    return { host: "127.0.0.1", port: this.port, user: "root", privateKey: this.clientKey.private, hostKey: this.hostKey.public, ...overrides };
  }

  connection(overrides: Partial<ConnectionInput> = {}): Connection {
    return parseConnection(this.input(overrides));
  }

  /** Clients connected now (a destroyed client's TCP connection is gone). */
  get connectedClients(): number {
    return this.clients.size;
  }

  stop(): void {
    for (const client of this.clients) client.end();
    this.server?.close();
  }
}

type Connection = ReturnType<typeof parseConnection>;

/** Runs `command` with the local `sh -c` (the exit trailer the transport appends included) on the channel, its stdin the channel's. */
function runInShell(channel: ServerChannel, command: string, env: NodeJS.ProcessEnv = process.env): void {
  const child = spawn("sh", ["-c", command], { stdio: ["pipe", "pipe", "pipe"], env });
  channel.pipe(child.stdin);
  child.stdin.on("error", () => undefined);
  child.stdout.pipe(channel, { end: false });
  child.stderr.pipe(channel.stderr, { end: false });
  channel.on("error", () => child.kill());
  child.on("close", (code) => {
    channel.exit(code ?? 255);
    channel.end();
  });
}

/** Writes `bytes` of stdout in 64 KiB chunks, honouring back-pressure, and never exits. */
function flood(channel: ServerChannel, bytes: number): void {
  const chunk = Buffer.alloc(64 * 1024, "x");
  let left = bytes;
  const pump = () => {
    while (left > 0) {
      const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
      left -= piece.length;
      if (!channel.write(piece)) return void channel.once("drain", pump);
    }
  };
  channel.on("error", () => undefined);
  pump();
}

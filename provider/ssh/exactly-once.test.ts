import type { AddressInfo } from "node:net";
import { Server } from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connection } from "../../test/support/lab-hosts";
import { parseConnection } from "./connection";
import { RemoteCommandError } from "./errors";
import { privatePools } from "../../test/support/pools";
import { parsableKeyPair } from "../../test/support/fake-ssh-server";

const newPool = privatePools();

/**
 * An SSH server on loopback, in this process, that counts the exec requests it received, how
 * many sessions ran at once, and refuses the first `refuseFirst` execs after "running" them:
 * what dropbear does to a client when it closes a channel before answering its exec.
 */
class FakeServer {
  readonly hostKey = parsableKeyPair();
  readonly clientKey = parsableKeyPair();
  execs: string[] = [];
  running = 0;
  mostAtOnce = 0;
  refuseFirst = 0;
  private server?: Server;

  constructor(private readonly software: string) {}

  async start(): Promise<number> {
    this.server = new Server({ hostKeys: [this.hostKey.private], ident: this.software }, (client) => {
      client.on("error", () => undefined);
      client.on("authentication", (ctx) => ctx.accept());
      client.on("session", (acceptSession) => {
        acceptSession().on("exec", (accept, reject, info) => {
          this.execs.push(info.command);
          if (this.execs.length <= this.refuseFirst) return reject();
          const channel = accept();
          this.running++;
          this.mostAtOnce = Math.max(this.mostAtOnce, this.running);
          setTimeout(() => {
            this.running--;
            channel.stderr.write("__netdev_exit_status=0\n");
            channel.exit(0);
            channel.end();
          }, 20);
        });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return (this.server!.address() as AddressInfo).port;
  }

  connection(port: number) {
    return parseConnection({ host: "127.0.0.1", port, user: "root", privateKey: this.clientKey.private, hostKey: this.hostKey.public });
  }

  stop(): void {
    this.server?.close();
  }
}

describe("commands run at most once", () => {
  const servers: FakeServer[] = [];
  async function serve(software: string) {
    const server = new FakeServer(software);
    servers.push(server);
    return { server, connection: server.connection(await server.start()) };
  }
  afterAll(() => servers.forEach((s) => s.stop()));

  it("reports an exec the server did not confirm instead of running it again", async () => {
    const { server, connection } = await serve("OpenSSH_9.2p1");
    server.refuseFirst = 1;
    const error = await newPool()
      .run(connection, ["ip", "link", "del", "dev", "eth0.10"])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteCommandError);
    expect((error as Error).message).toMatch(/may or may not have run/);
    expect(server.execs).toHaveLength(1);
  });

  it("retries an unconfirmed exec of a read", async () => {
    const { server, connection } = await serve("OpenSSH_9.2p1");
    server.refuseFirst = 2;
    await newPool().run(connection, ["ip", "-json", "link", "show"], { idempotent: true });
    expect(server.execs).toHaveLength(3);
  });

  it("runs one session at a time on dropbear, several on other servers", async () => {
    const dropbear = await serve("dropbear_2022.83");
    const openssh = await serve("OpenSSH_9.2p1");
    const pool = newPool();
    const burst = (c: typeof dropbear.connection) => Promise.all(Array.from({ length: 20 }, (_, i) => pool.run(c, ["echo", String(i)])));
    await Promise.all([burst(dropbear.connection), burst(openssh.connection)]);
    expect(dropbear.server.execs).toHaveLength(20);
    expect(dropbear.server.mostAtOnce).toBe(1);
    expect(openssh.server.execs).toHaveLength(20);
    expect(openssh.server.mostAtOnce).toBeGreaterThan(1);
    expect(openssh.server.mostAtOnce).toBeLessThanOrEqual(openssh.connection.maxChannels);
  });
});

// The lab VM runs dropbear: before sessions were serialized there, 300 of these ran 336 to 394 times, 150 ran 190.
describe("on the dropbear lab host", () => {
  beforeAll(async () => {
    await newPool().run(connection("vm1"), ["rm", "-f", "/tmp/netdev-once"]);
  });

  it("runs each of 100 concurrent appends exactly once", async () => {
    const pool = newPool();
    const vm = connection("vm1");
    await Promise.all(Array.from({ length: 100 }, (_, i) => pool.run(vm, ["sh", "-c", 'echo "$0" >> /tmp/netdev-once', String(i)])));
    const lines = (await pool.run(vm, ["cat", "/tmp/netdev-once"])).trim().split("\n").map(Number);
    await pool.run(vm, ["rm", "-f", "/tmp/netdev-once"]);
    expect(lines.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  }, 120_000);
});

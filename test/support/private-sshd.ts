import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { parseConnection } from "../../provider/ssh/connection";
import { host, labState } from "./lab-hosts";

/**
 * A second sshd inside a lab host's network namespace, in a mount namespace of its own, so that
 * a test can change what the host's file system looks like to SSH commands (`setup`, run as
 * root before sshd starts: e.g. a read-only /tmp) without touching this machine's, which the
 * netns hosts share, or the lab's own sshd. Same client key and settings as the lab's sshd.
 */
export interface PrivateSshd {
  connection: ReturnType<typeof parseConnection>;
  stop(): Promise<void>;
}

export async function startPrivateSshd(hostName: string, port: number, setup: string): Promise<PrivateSshd> {
  const lab = host(hostName);
  if (lab.kind !== "netns" || !lab.netns) throw new Error(`${hostName} is not a network namespace host`);
  // Not under /tmp: `setup` may hide it.
  const dir = mkdtempSync("/var/tmp/netdev-private-sshd-");
  const hostKey = path.join(dir, "host_ed25519_key");
  await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKey]);
  // A copy beside the host key: the lab's own lies in the checkout, which may be under /tmp.
  const authorizedKeys = path.join(dir, "authorized_keys");
  copyFileSync(path.join(path.dirname(labState().clientKeyPath), "authorized_keys"), authorizedKeys);
  const config = path.join(dir, "sshd_config");
  writeFileSync(
    config,
    [
      `ListenAddress ${lab.address}:${port}`,
      `HostKey ${hostKey}`,
      `PidFile ${path.join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "",
    ].join("\n"),
  );
  const script = [
    setup,
    // As the lab's sshd: no ~/.bashrc, which bash sources for every SSH command.
    'home=$(getent passwd root | cut -d: -f6); if [ -f "$home/.bashrc" ]; then mount --bind /dev/null "$home/.bashrc"; fi',
    'exec /usr/sbin/sshd -D -f "$1" -E "$2"',
  ].join("\n");
  const log = path.join(dir, "sshd.log");
  const child: ChildProcess = spawn(
    "ip",
    ["netns", "exec", lab.netns, "unshare", "--mount", "--propagation", "private", "--", "sh", "-ec", script, "sh", config, log],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => void (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`private sshd on ${hostName} exited ${child.exitCode}: ${stderr}${existsSync(log) ? readFileSync(log, "utf8") : ""}`);
      const { stdout } = await execa("ip", ["netns", "exec", lab.netns, "ss", "-Hltn", `src ${lab.address}:${port}`]);
      if (stdout.trim()) break;
      if (Date.now() > deadline) throw new Error(`private sshd on ${hostName} did not listen on port ${port}: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const hostPublicKey = readFileSync(`${hostKey}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
  const connection = parseConnection({
    host: lab.address,
    port,
    user: lab.username,
    privateKey: readFileSync(lab.privateKeyPath, "utf8"),
    hostKey: hostPublicKey,
    connectTimeoutMs: 5000,
  });
  return { connection, stop };
}

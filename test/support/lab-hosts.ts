import { readFileSync } from "node:fs";
import { labHost, readLabState, type LabHost } from "../../lab/hosts";
import { type ConnectionInput, parseConnection } from "../../provider/ssh/connection";
import { testLogin } from "./sudo-login";

export function labState() {
  return readLabState();
}

export function host(name: string): LabHost {
  return labHost(readLabState(), name);
}

/** Connection args for a lab host, as a user would write them (jump hosts included). */
export function connectionInput(name: string, overrides: Partial<ConnectionInput> = {}): ConnectionInput {
  const state = readLabState();
  const target = labHost(state, name);
  return {
    host: target.address,
    port: target.port,
    user: target.username,
    privateKey: readFileSync(target.privateKeyPath, "utf8"),
    hostKey: target.hostPublicKey,
    connectTimeoutMs: 5000,
    ...(target.via ? { jumpHost: connectionInput(target.via) } : {}),
    ...testLogin(state, target),
    ...overrides,
  };
}

export function connection(name: string, overrides: Partial<ConnectionInput> = {}) {
  return parseConnection(connectionInput(name, overrides));
}

/** Hosts that are plain network namespaces on the underlay (h1, h2, …). */
export function netnsHosts(): LabHost[] {
  return readLabState().hosts.filter((h) => h.kind === "netns" && !h.via);
}

/** Counts the connections a lab host's sshd accepted (its log says "Accepted publickey"). */
export function acceptedConnections(name: string): number {
  const logPath = host(name).sshdLogPath;
  if (!logPath) throw new Error(`${name} has no sshd log`);
  return readFileSync(logPath, "utf8")
    .split("\n")
    .filter((line) => line.includes("Accepted publickey")).length;
}

import { execa } from "execa";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { LabHost } from "../lab/hosts";
import { ensureCommands } from "./install";
import { timed, type Row } from "./results";

/**
 * The Ansible row of `npm run bench`: ansible-playbook (Debian's ansible-core) against the
 * lab hosts, set up the way its documentation recommends for speed: pipelining, and one
 * OpenSSH master connection per host kept between runs (ControlMaster/ControlPersist), no
 * fact gathering, forks = --parallel. The playbook is what a user writes for "these bridges
 * exist": one read of the host's links, then one `ip link add` task item per missing bridge
 * (Ansible's command modules cannot tell by themselves whether they changed anything).
 *
 * Phases, as the table's columns: up = the playbook; refresh = the playbook with --check (a
 * dry run: reads every host, must report no change); preview = the playbook again (must
 * change nothing); destroy = the removal playbook.
 */
/** A playbook that reads each host's bridges once, then runs `task` over the names `pick` selects. */
const playbook = (name: string, task: string, pick: "difference" | "intersect") => `- name: ${name}
  hosts: all
  gather_facts: false
  tasks:
    - name: read the host's bridges
      ansible.builtin.command: ip -br link show type bridge
      register: present
      changed_when: false
      check_mode: false
${task}
      loop: "{{ bridges | ${pick}(present.stdout_lines | map('split') | map('first') | list) }}"
`;
const UP = playbook(
  "netdev bench bridges",
  `    - name: add the missing bridges
      ansible.builtin.shell: ip link add {{ item }} type bridge && ip link set dev {{ item }} up`,
  "difference",
);
const DOWN = playbook(
  "netdev bench bridges, removed",
  `    - name: delete the bridges that exist
      ansible.builtin.command: ip link del dev {{ item }}`,
  "intersect",
);

export async function ansibleRow(hosts: LabHost[], n: number, forks: number, names: (n: number) => string[], accepted: () => number): Promise<Row> {
  ensureCommands({ "ansible-playbook": "ansible-core" });
  const { stdout: version } = await execa("ansible-playbook", ["--version"], { env: { LC_ALL: "C.UTF-8" } });
  const row: Row = {
    model: `Ansible (${version.split("\n")[0]!.replace(/^ansible-playbook \[core (.*)\]$/, "ansible-core $1")}, pipelining, ControlPersist)`,
    devices: n,
    seconds: {},
    connections: 0,
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), "netdev-ansible-"));
  const controlDir = path.join(dir, "cp");
  mkdirSync(controlDir);
  const inventory = {
    all: {
      vars: { ansible_user: "root", ansible_ssh_private_key_file: hosts[0]!.privateKeyPath, ansible_python_interpreter: "/usr/bin/python3" },
      hosts: Object.fromEntries(
        hosts.map((h, index) => [h.name, { ansible_host: h.address, ansible_port: h.port, bridges: names(n).filter((_, i) => i % hosts.length === index) }]),
      ),
    },
  };
  writeFileSync(path.join(dir, "inventory.yml"), JSON.stringify(inventory, null, 2)); // YAML is a superset of JSON
  writeFileSync(path.join(dir, "known_hosts"), hosts.map((h) => `${h.port === 22 ? h.address : `[${h.address}]:${h.port}`} ${h.hostPublicKey}\n`).join(""));
  writeFileSync(path.join(dir, "up.yml"), UP);
  writeFileSync(path.join(dir, "down.yml"), DOWN);
  writeFileSync(
    path.join(dir, "ansible.cfg"),
    [
      "[defaults]",
      `inventory = ${path.join(dir, "inventory.yml")}`,
      `forks = ${forks}`,
      "host_key_checking = True",
      "gathering = explicit",
      "retry_files_enabled = False",
      "",
      "[ssh_connection]",
      "pipelining = True",
      `ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=${path.join(dir, "known_hosts")} -o StrictHostKeyChecking=yes`,
      `control_path_dir = ${controlDir}`,
      "",
    ].join("\n"),
  );
  const env = {
    ANSIBLE_CONFIG: path.join(dir, "ansible.cfg"),
    ANSIBLE_HOME: path.join(dir, "home"),
    ANSIBLE_LOCAL_TEMP: path.join(dir, "tmp"),
    LC_ALL: "C.UTF-8",
    ANSIBLE_NOCOLOR: "1",
  };
  /** Runs a playbook; returns how many task items changed something (the PLAY RECAP's changed=). */
  const playbook = async (file: string, ...args: string[]): Promise<number> => {
    const result = await execa("ansible-playbook", [...args, path.join(dir, file)], { env, reject: false, cwd: dir });
    const recap = result.stdout.slice(result.stdout.lastIndexOf("PLAY RECAP"));
    const count = (field: string) => [...recap.matchAll(new RegExp(`${field}=(\\d+)`, "g"))].reduce((sum, m) => sum + Number(m[1]), 0);
    if (result.exitCode !== 0 || count("failed") + count("unreachable") > 0)
      throw new Error(
        `ansible-playbook ${args.join(" ")} ${file} failed (exit ${result.exitCode}):\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-2000)}`,
      );
    return count("changed");
  };
  const before = accepted();
  try {
    row.seconds.up = await timed(async () => {
      const changed = await playbook("up.yml");
      if (changed === 0) throw new Error("error: up changed nothing (bridges left over?)");
    });
    row.seconds.refresh = await timed(async () => {
      const changed = await playbook("up.yml", "--check");
      if (changed !== 0) throw new Error(`error: --check after up reports ${changed} changes`);
    });
    row.seconds.preview = await timed(async () => {
      const changed = await playbook("up.yml");
      if (changed !== 0) throw new Error(`error: the playbook run again changed ${changed} tasks`);
    });
    row.seconds.destroy = await timed(() => playbook("down.yml"));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`Ansible, ${n} devices:\n${message}`);
    row.error =
      message
        .split("\n")
        .find((line) => /error|fatal|failed/i.test(line))
        ?.trim() ?? message.split("\n")[0];
    await playbook("down.yml").catch(() => undefined);
  } finally {
    // The master connections (ControlPersist) would linger for 60 s: close them.
    for (const socket of readdirSync(controlDir))
      await execa("ssh", ["-o", `ControlPath=${path.join(controlDir, socket)}`, "-O", "exit", "lab-host"], { reject: false });
    row.connections = accepted() - before;
    rmSync(dir, { recursive: true, force: true });
  }
  return row;
}

import type { LabHost, LabState } from "../../lab/hosts";
import type { ConnectionInput } from "../../provider/ssh/connection";

/** A lab sudo user (lab/sudo-users.ts) by what its sudoers rule says. */
export type SudoLogin = "nopasswd" | "password" | "nosudo" | "requiretty";

/**
 * The connection fields that log in to a netns lab host as one of the lab's sudo users, on the
 * port where that host's sshd refuses root: user, port, sudo and (for "password") sudoPassword.
 */
export function sudoLogin(state: LabState, target: LabHost, login: SudoLogin): Partial<ConnectionInput> {
  if (!state.sudo) throw new Error("this lab has no sudo users: bring it up again with this checkout's `npm run lab -- up`");
  if (target.kind !== "netns") throw new Error(`${target.name} is not a netns lab host: only those have the lab's sudo users`);
  return {
    user: state.sudo.users[login],
    port: state.sudo.rootRefusedPort,
    sudo: true,
    ...(login === "password" ? { sudoPassword: state.sudo.password } : {}),
  };
}

/**
 * NETDEV_TEST_LOGIN=nopasswd|password runs a lab test file with every netns host reached as that
 * sudo user instead of root (scripts/test.sh runs the device lifecycles so); unset, nothing changes.
 */
export function testLogin(state: LabState, target: LabHost): Partial<ConnectionInput> {
  const login = process.env.NETDEV_TEST_LOGIN;
  if (!login || target.kind !== "netns") return {};
  if (login !== "nopasswd" && login !== "password") throw new Error(`NETDEV_TEST_LOGIN must be nopasswd or password, not ${JSON.stringify(login)}`);
  return sudoLogin(state, target, login);
}

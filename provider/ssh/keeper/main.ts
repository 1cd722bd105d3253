import { runKeeper } from "./server";

// The connection keeper's process: started detached by a provider process (see KeeperLink).
const [socketPath, persistMs] = process.argv.slice(2);
if (!socketPath || !Number(persistMs)) {
  process.stderr.write("usage: main <socket path> <persist ms>\n");
  process.exit(2);
}
process.title = "netdev-ssh-keeper";
runKeeper(socketPath, Number(persistMs)).catch(() => process.exit(1));

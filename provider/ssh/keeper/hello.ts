import { connect, type Socket } from "node:net";
import { type KeeperHello, lineReader } from "./protocol";

/** How long a keeper that accepted a connection may take to say hello (nothing is sent before it). */
export const HELLO_MS = 2000;

/**
 * A connection to the keeper listening at `path`, once it said hello, and the pid it gave;
 * undefined when nothing listens there, or what does says no hello within `waitMs`. The keeper
 * sends nothing after its hello until it is asked, so nothing is lost by reading only that line.
 */
export function greetedConnection(path: string, waitMs: number): Promise<{ socket: Socket; pid: number } | undefined> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (pid: number | undefined) => {
      clearTimeout(timer);
      socket.removeAllListeners("data");
      socket.removeAllListeners("error");
      socket.removeAllListeners("close");
      if (pid === undefined) socket.destroy();
      resolve(pid === undefined ? undefined : { socket, pid });
    };
    const timer = setTimeout(() => done(undefined), waitMs);
    socket.on("error", () => done(undefined));
    socket.on("close", () => done(undefined));
    socket.on(
      "data",
      lineReader(
        (message) => {
          const pid = (message as Partial<KeeperHello>).hello?.pid;
          done(typeof pid === "number" ? pid : undefined);
        },
        () => done(undefined),
      ),
    );
  });
}

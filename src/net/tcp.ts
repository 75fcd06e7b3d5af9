/** Thin wrappers over Bun.listen / Bun.connect that hand out FramedConnections. */
import type { Socket, TCPSocketListener } from "bun";
import { KafkaCloneError } from "../errors";
import { FramedConnection, type FramedHandlers, READ_PAUSE_BYTES } from "./framed-connection";
import { DEFAULT_FRAME_TIMEOUT_MS, ReceiveBudget, sweepSlowSenders } from "./receive-limits";

interface SocketState {
  connection?: FramedConnection;
}

export interface TcpServer {
  readonly host: string;
  readonly port: number;
  connectionCount(): number;
  stop(): void;
}

export interface ListenOptions {
  host: string;
  port: number;
  maxFrameBytes: number;
  /** Returns the handlers for a new connection. */
  accept(connection: FramedConnection): FramedHandlers;
  /** Connections beyond this are closed at once. */
  maxConnections?: number;
  /** A connection stops reading while more than this waits to be written to it (default READ_PAUSE_BYTES). */
  pauseReadsAbove?: number;
  /** Bytes of partly received frames held across all connections (see receive-limits.ts). */
  receiveBudgetBytes?: number;
  /** A frame must arrive in full this long after its first byte, and a connection send its first one (0 = no limit). */
  frameTimeoutMs?: number;
}

const NO_HANDLERS: FramedHandlers = { onFrame: () => {} };

export function listenTcp(options: ListenOptions): TcpServer {
  const open = new Set<FramedConnection>();
  const budget = new ReceiveBudget(options.receiveBudgetBytes);
  let listener: TCPSocketListener<SocketState>;
  try {
    listener = Bun.listen<SocketState>({
      hostname: options.host,
      port: options.port,
      socket: {
        open(socket) {
          const connection = new FramedConnection(
            socket as Socket<unknown>,
            options.maxFrameBytes,
            NO_HANDLERS,
            `${socket.remoteAddress}:${socket.remotePort}`,
            options.pauseReadsAbove ?? READ_PAUSE_BYTES,
            budget,
          );
          socket.data = { connection };
          if (options.maxConnections !== undefined && open.size >= options.maxConnections) {
            connection.close("too many connections");
            return;
          }
          open.add(connection);
          connection.handlers = options.accept(connection);
        },
        data: (socket, chunk) => socket.data.connection?.handleData(chunk),
        drain: (socket) => socket.data.connection?.handleDrain(),
        close(socket) {
          const connection = socket.data.connection;
          if (!connection) return;
          open.delete(connection);
          connection.handleClose(null);
        },
        error(socket, error) {
          const connection = socket.data.connection;
          if (!connection) return;
          open.delete(connection);
          connection.handleClose(error.message);
        },
      },
    });
  } catch (error) {
    throw new KafkaCloneError("NETWORK_ERROR", `cannot listen on ${options.host}:${options.port}: ${(error as Error).message}`);
  }
  const stopSweep = sweepSlowSenders(() => open, options.frameTimeoutMs ?? DEFAULT_FRAME_TIMEOUT_MS);
  return {
    host: options.host,
    port: listener.port,
    connectionCount: () => open.size,
    stop() {
      stopSweep();
      for (const connection of open) connection.close();
      listener.stop(true);
    },
  };
}

export interface ConnectOptions {
  host: string;
  port: number;
  maxFrameBytes: number;
  handlers: FramedHandlers;
  timeoutMs?: number;
}

export async function connectTcp(options: ConnectOptions): Promise<FramedConnection> {
  const target = `${options.host}:${options.port}`;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const connecting = Bun.connect<SocketState>({
    hostname: options.host,
    port: options.port,
    socket: {
      open(socket) {
        socket.data = { connection: new FramedConnection(socket as Socket<unknown>, options.maxFrameBytes, options.handlers, target) };
      },
      data: (socket, chunk) => socket.data.connection?.handleData(chunk),
      drain: (socket) => socket.data.connection?.handleDrain(),
      close: (socket) => socket.data?.connection?.handleClose(null),
      error: (socket, error) => socket.data?.connection?.handleClose(error.message),
    },
  });
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new KafkaCloneError("NETWORK_ERROR", `connecting to ${target} timed out`)),
      options.timeoutMs ?? 5000,
    );
  });
  try {
    const socket = await Promise.race([connecting, timeout]);
    const connection = socket.data.connection;
    if (!connection) throw new KafkaCloneError("NETWORK_ERROR", `connection to ${target} did not open`);
    return connection;
  } catch (error) {
    connecting.then((socket) => socket.end()).catch(() => {});
    if (error instanceof KafkaCloneError) throw error;
    throw new KafkaCloneError("NETWORK_ERROR", `cannot connect to ${target}: ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

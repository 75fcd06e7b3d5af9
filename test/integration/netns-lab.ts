/**
 * A small network made of Linux network namespaces for partition tests
 * (root only). The zookeeper and each broker get a namespace of their own;
 * the test process stays in the root namespace, as the clients:
 *
 *   client bridge  10.A.B.0/24: root .1, broker i .(10+i)  — clients ↔ brokers, brokers ↔ brokers
 *   zk bridge      10.A.B+1.0/24: root .1, zookeeper .2, broker i .(10+i) — heartbeats, claims, views
 *
 * Each broker thus has two links, and cutting its zookeeper link (its
 * bridge port set down: packets are dropped silently, both ways) leaves it
 * talking to its clients, the other brokers and the disk. Names and subnets
 * are random, so concurrent runs do not collide; destroy() removes every
 * namespace and link, and runs at exit too.
 */

export interface NetnsLab {
  /** The zookeeper's address (on the zk bridge; reachable from the root namespace and every broker). */
  zookeeperHost: string;
  /** Broker `id`'s client address. */
  brokerHost(id: number): string;
  /** Prefix for a command run inside the zookeeper's (null) or broker `id`'s namespace. */
  exec(id: number | null): string[];
  /** Drops all traffic between broker `id` and the zookeeper. */
  cutFromZookeeper(id: number): void;
  healZookeeperLink(id: number): void;
  /** Drops all traffic between broker `id` and its clients and the other brokers. */
  cutClientLink(id: number): void;
  healClientLink(id: number): void;
  destroy(): void;
}

function ip(...args: string[]): void {
  const result = Bun.spawnSync(["ip", ...args], { stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`ip ${args.join(" ")}: ${result.stderr.toString().trim()}`);
}

/** Null when namespaces can be made here, else why not (the test then skips, saying so). */
export function netnsUnavailable(): string | null {
  if (process.platform !== "linux") return "network namespaces need Linux";
  if (process.getuid?.() !== 0) return "network namespaces need root";
  const probe = `kcprobe${process.pid}`;
  try {
    ip("netns", "add", probe);
    ip("link", "add", `${probe}b`, "type", "bridge");
    ip("link", "del", `${probe}b`);
    ip("netns", "del", probe);
    return null;
  } catch (error) {
    try {
      ip("netns", "del", probe);
    } catch {
      // it was never made
    }
    return `cannot make network namespaces and bridges here: ${(error as Error).message}`;
  }
}

export function createNetnsLab(brokerIds: readonly number[]): NetnsLab {
  const tag = `kc${Math.random().toString(36).slice(2, 6)}`;
  const a = 200 + Math.floor(Math.random() * 55);
  const b = 2 * Math.floor(Math.random() * 127);
  const clientNet = `10.${a}.${b}`;
  const zkNet = `10.${a}.${b + 1}`;
  const namespaces: string[] = [];
  const links: string[] = [];
  const ns = (id: number | null) => (id === null ? `${tag}zk` : `${tag}b${id}`);
  let destroyed = false;
  const destroy = () => {
    if (destroyed) return;
    destroyed = true;
    process.off("exit", destroy);
    // Deleting a namespace deletes the veth ends inside it, and with them their peers.
    for (const name of namespaces) Bun.spawnSync(["ip", "netns", "del", name], { stderr: "ignore" });
    for (const link of links) Bun.spawnSync(["ip", "link", "del", link], { stderr: "ignore" });
  };
  process.on("exit", destroy);

  /** A veth from `namespace` (as eth<n>, address `address`/24) to port `port` of `bridge`. */
  const attach = (namespace: string, inside: string, port: string, bridge: string, address: string) => {
    ip("link", "add", port, "type", "veth", "peer", "name", inside, "netns", namespace);
    links.push(port);
    ip("link", "set", port, "master", bridge, "up");
    ip("-n", namespace, "addr", "add", `${address}/24`, "dev", inside);
    ip("-n", namespace, "link", "set", inside, "up");
  };

  try {
    for (const [bridge, net] of [[`${tag}c`, clientNet], [`${tag}z`, zkNet]] as const) {
      ip("link", "add", bridge, "type", "bridge");
      links.push(bridge);
      ip("addr", "add", `${net}.1/24`, "dev", bridge);
      ip("link", "set", bridge, "up");
    }
    for (const id of [null, ...brokerIds]) {
      const name = ns(id);
      ip("netns", "add", name);
      namespaces.push(name);
      ip("-n", name, "link", "set", "lo", "up");
    }
    attach(ns(null), "eth0", `${tag}zz`, `${tag}z`, `${zkNet}.2`);
    for (const id of brokerIds) {
      attach(ns(id), "eth0", `${tag}c${id}`, `${tag}c`, `${clientNet}.${10 + id}`);
      attach(ns(id), "eth1", `${tag}z${id}`, `${tag}z`, `${zkNet}.${10 + id}`);
    }
  } catch (error) {
    destroy();
    throw error;
  }

  return {
    zookeeperHost: `${zkNet}.2`,
    brokerHost: (id) => `${clientNet}.${10 + id}`,
    exec: (id) => ["ip", "netns", "exec", ns(id)],
    cutFromZookeeper: (id) => ip("link", "set", `${tag}z${id}`, "down"),
    healZookeeperLink: (id) => ip("link", "set", `${tag}z${id}`, "up"),
    cutClientLink: (id) => ip("link", "set", `${tag}c${id}`, "down"),
    healClientLink: (id) => ip("link", "set", `${tag}c${id}`, "up"),
    destroy,
  };
}

#!/usr/bin/env bun
import { defineCommand, runMain } from "citty";
import pkg from "../package.json";
import { benchCommand } from "./cli/bench";
import { brokerCommand } from "./cli/broker";
import { clusterCommand } from "./cli/cluster";
import { consumeCommand } from "./cli/consume";
import { groupsCommand } from "./cli/groups";
import { localClusterCommand } from "./cli/local-cluster";
import { logCommand } from "./cli/log";
import { produceCommand } from "./cli/produce";
import { topicsCommand } from "./cli/topics";
import { usersCommand } from "./cli/users";
import { zookeeperCommand } from "./cli/zookeeper";

const main = defineCommand({
  meta: {
    name: "kafka-clone",
    version: pkg.version,
    description: "A Kafka-like event log: one binary for the zookeeper, brokers, producers and consumers",
  },
  subCommands: {
    zookeeper: zookeeperCommand,
    broker: brokerCommand,
    produce: produceCommand,
    consume: consumeCommand,
    topics: topicsCommand,
    cluster: clusterCommand,
    bench: benchCommand,
    groups: groupsCommand,
    "local-cluster": localClusterCommand,
    log: logCommand,
    users: usersCommand,
  },
});

await runMain(main);

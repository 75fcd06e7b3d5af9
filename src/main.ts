#!/usr/bin/env bun
import { defineCommand, runMain } from "citty";
import pkg from "../package.json";
import { logCommand } from "./cli/log";

const main = defineCommand({
  meta: {
    name: "kafka-clone",
    version: pkg.version,
    description: "A Kafka-like event log: one binary for the zookeeper, brokers, producers and consumers",
  },
  subCommands: {
    log: logCommand,
  },
});

await runMain(main);

import { defineCommand } from "citty";
import { dumpCommand } from "./log-dump";

export const logCommand = defineCommand({
  meta: { name: "log", description: "Inspect log files on disk" },
  subCommands: { dump: dumpCommand },
});

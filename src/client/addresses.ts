/** host:port strings from flags, checked. */
import { KafkaCloneError } from "../errors";

export interface HostPort {
  host: string;
  port: number;
}

export function parseHostPort(text: string, what = "address"): HostPort {
  const match = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[2]) : NaN;
  if (!match || port < 1 || port > 65535) {
    throw new KafkaCloneError("INVALID_ARGUMENT", `${what} must look like host:port (port 1-65535), got ${JSON.stringify(text)}`);
  }
  return { host: match[1]!.replace(/^\[|\]$/g, ""), port };
}

export function parseHostPortList(text: string, what = "address list"): HostPort[] {
  const parts = text.split(",").map((part) => part.trim()).filter((part) => part.length > 0);
  if (parts.length === 0) throw new KafkaCloneError("INVALID_ARGUMENT", `${what} is empty`);
  return parts.map((part) => parseHostPort(part, what));
}

export function formatHostPort(address: HostPort): string {
  return address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

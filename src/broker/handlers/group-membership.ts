/** Group membership: join, sync, heartbeat, leave (the coordinator is the active broker's). */
import { readJoinGroupRequest, readMemberRequest, readSyncGroupRequest } from "../../protocol/requests";
import type { RequestHandler } from "../request-handler";

export const handleJoinGroup: RequestHandler = ({ body, session }, broker) => {
  const request = readJoinGroupRequest(body);
  return { body: broker.requireActive().groups.join(request, session) };
};

export const handleSyncGroup: RequestHandler = ({ body, session }, broker) => {
  const request = readSyncGroupRequest(body);
  return { body: broker.requireActive().groups.sync(request, session) };
};

export const handleHeartbeat: RequestHandler = ({ body, session }, broker) => {
  const request = readMemberRequest(body);
  return { body: broker.requireActive().groups.heartbeat(request, session) };
};

export const handleLeaveGroup: RequestHandler = ({ body }, broker) => {
  const request = readMemberRequest(body);
  broker.requireActive().groups.leave(request);
  return { body: {} };
};

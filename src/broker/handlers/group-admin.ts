/** Group administration: list, describe (with lag), delete. */
import { readGroupRequest } from "../../protocol/requests";
import type { RequestHandler } from "../request-handler";

export const handleListGroups: RequestHandler = (_, broker) => {
  return { body: { groups: broker.requireActive().groups.list() } };
};

export const handleDescribeGroup: RequestHandler = ({ body }, broker) => {
  const groupId = readGroupRequest(body);
  return { body: broker.requireActive().groups.describe(groupId) };
};

export const handleDeleteGroup: RequestHandler = async ({ body }, broker) => {
  const groupId = readGroupRequest(body);
  const { groups, epoch } = broker.requireActive();
  const commits = await groups.deleteGroup(groupId);
  broker.confirmLeadership(epoch);
  return { body: { commits } };
};

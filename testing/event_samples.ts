/** Sample events for unit tests of the event module, its decoder and its writer. */
import type { ActivityEvent } from "@activity/shared";

/**
 * A valid event with every field of the schema, optional ones too: typed `Required`, so a field
 * the schema gains fails to compile here until the tests have a value for it.
 */
export const COMPLETE_EVENT: Required<ActivityEvent> = {
  version: 1,
  event_id: "01890a5d-ac96-774b-bcce-b302099a8057",
  user_id: "user_42",
  session_id: "s-1",
  event_type: "click",
  occurred_at: "2026-06-01T11:59:00.250Z",
  page: "/products/7",
  properties: { button: "buy", price: 9.5, ok: true, none: null },
};

// The event types a webhook can subscribe to (API.md §7), as a group of checkboxes.
import { Check } from "../../components/ui";

export const EVENT_TYPES = [
  "user.created",
  "user.updated",
  "user.deleted",
  "user.disabled",
  "user.enabled",
  "user.password_changed",
  "session.created",
  "session.revoked",
  "mfa.enrolled",
  "mfa.removed",
  "organization.created",
  "organization.updated",
  "organization.deleted",
  "organization.member.added",
  "organization.member.updated",
  "organization.member.removed",
  "organization.invitation.created",
  "organization.invitation.accepted",
  "oauth.connected",
  "oauth.disconnected",
  "webhook.test",
];

/** `value` is what the API takes: `["*"]` for every event, else the chosen types. */
export function EventPicker({ value, onChange }: { value: string[]; onChange: (events: string[]) => void }) {
  const all = value.includes("*");
  const types = [...EVENT_TYPES, ...value.filter((e) => e !== "*" && !EVENT_TYPES.includes(e))];
  const toggle = (event: string, on: boolean) =>
    onChange(on ? [...value, event] : value.filter((e) => e !== event));
  return (
    <fieldset class="events">
      <legend>Events</legend>
      <Check label="All events (*)" checked={all} onChange={(on) => onChange(on ? ["*"] : [])} />
      {!all && (
        <div class="event-grid">
          {types.map((event) => (
            <Check key={event} label={event} checked={value.includes(event)} onChange={(on) => toggle(event, on)} />
          ))}
        </div>
      )}
    </fieldset>
  );
}

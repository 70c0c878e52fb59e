package eu.hanse.coordinator.events;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Something that happened in the federation, for the consortium's other tools: a site enrolled,
 * came online or went offline, was revoked; a round opened, an update was accepted or refused, a
 * round committed; a job changed state. {@code docs/events.md} documents every type and its fields.
 *
 * @param type e.g. "update.accepted"
 * @param fields the type's fields; "job" and "site" name what the event is about, when it is about one
 */
public record FederationEvent(String type, Instant time, Map<String, Object> fields) {
  /** The version of the events' JSON form: "schema" in every event. */
  public static final String SCHEMA = "hanse.event/1";

  public FederationEvent {
    fields = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(fields));
  }

  /** The job the event is about, or null. */
  public String job() {
    Object job = fields.get("job");
    return job == null || job.toString().isEmpty() ? null : job.toString();
  }

  /** The site the event is about, or null. */
  public String site() {
    Object site = fields.get("site");
    return site == null || site.toString().isEmpty() ? null : site.toString();
  }

  /** The event as its JSON form has it: schema, type and time, then its fields. */
  public Map<String, Object> asJson() {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("schema", SCHEMA);
    json.put("type", type);
    json.put("time", time.toString());
    json.putAll(fields);
    return json;
  }
}

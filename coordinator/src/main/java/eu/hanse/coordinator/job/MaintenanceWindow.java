package eu.hanse.coordinator.job;

import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A time, in UTC, when a site takes no part in a job: once ({@code 2026-12-24T00:00Z/2026-12-27T00:00Z}),
 * every week ({@code weekly tue 06:00-10:00}) or every day ({@code daily 02:00-03:00}). A daily or
 * weekly window may run past midnight ({@code daily 22:00-02:00}).
 */
public sealed interface MaintenanceWindow {
  /** Whether {@code instant} falls inside the window (start inclusive, end exclusive). */
  boolean contains(Instant instant);

  /** The window as written in a job file. */
  String describe();

  /** One stretch of time. */
  record Once(Instant from, Instant to) implements MaintenanceWindow {
    public Once {
      if (!to.isAfter(from)) {
        throw new IllegalArgumentException("window ends (" + to + ") before it starts (" + from + ")");
      }
    }

    @Override
    public boolean contains(Instant instant) {
      return !instant.isBefore(from) && instant.isBefore(to);
    }

    @Override
    public String describe() {
      return from + "/" + to;
    }
  }

  /** Every day, or every week on {@code day} when it is not null, from {@code from} to {@code to}. */
  record Recurring(DayOfWeek day, LocalTime from, LocalTime to) implements MaintenanceWindow {
    public Recurring {
      if (from.equals(to)) {
        throw new IllegalArgumentException("window starts and ends at " + from + ": it would be empty");
      }
    }

    @Override
    public boolean contains(Instant instant) {
      OffsetDateTime utc = instant.atOffset(ZoneOffset.UTC);
      LocalTime time = utc.toLocalTime();
      boolean pastMidnight = to.isBefore(from);
      if (day == null) {
        return pastMidnight ? !time.isBefore(from) || time.isBefore(to) : !time.isBefore(from) && time.isBefore(to);
      }
      if (pastMidnight) {
        return utc.getDayOfWeek() == day && !time.isBefore(from)
            || utc.getDayOfWeek() == day.plus(1) && time.isBefore(to);
      }
      return utc.getDayOfWeek() == day && !time.isBefore(from) && time.isBefore(to);
    }

    @Override
    public String describe() {
      String days = day == null ? "daily" : "weekly " + day.name().substring(0, 3).toLowerCase(Locale.ROOT);
      return days + " " + from + "-" + to;
    }
  }

  Pattern RECURRING = Pattern.compile("(daily|weekly\\s+([a-z]{3}))\\s+(\\d\\d:\\d\\d)-(\\d\\d:\\d\\d)");
  Map<String, DayOfWeek> DAYS = Map.of("mon", DayOfWeek.MONDAY, "tue", DayOfWeek.TUESDAY, "wed",
      DayOfWeek.WEDNESDAY, "thu", DayOfWeek.THURSDAY, "fri", DayOfWeek.FRIDAY, "sat", DayOfWeek.SATURDAY, "sun",
      DayOfWeek.SUNDAY);

  /**
   * Reads a window as written in a job file.
   *
   * @throws IllegalArgumentException naming what is wrong and the forms that are right
   */
  static MaintenanceWindow parse(String text) {
    String trimmed = text.strip().toLowerCase(Locale.ROOT);
    Matcher recurring = RECURRING.matcher(trimmed);
    try {
      if (recurring.matches()) {
        DayOfWeek day = null;
        if (recurring.group(2) != null) {
          day = DAYS.get(recurring.group(2));
          if (day == null) {
            throw new IllegalArgumentException("unknown day '" + recurring.group(2) + "': use mon, tue, wed, thu, "
                + "fri, sat or sun");
          }
        }
        return new Recurring(day, LocalTime.parse(recurring.group(3)), LocalTime.parse(recurring.group(4)));
      }
      int slash = trimmed.indexOf('/');
      if (slash > 0) {
        return new Once(instant(text.strip().substring(0, slash)), instant(text.strip().substring(slash + 1)));
      }
    } catch (IllegalArgumentException | DateTimeParseException e) {
      throw new IllegalArgumentException("cannot read the window '" + text + "': " + e.getMessage(), e);
    }
    throw new IllegalArgumentException("cannot read the window '" + text + "': write 'daily HH:MM-HH:MM', "
        + "'weekly tue HH:MM-HH:MM' or 'START/END' as ISO-8601 times in UTC (2026-12-24T00:00Z/2026-12-27T00:00Z)");
  }

  /** An ISO-8601 time with an offset or Z: a job file's times are never in some local zone. */
  static Instant instant(String text) {
    try {
      return OffsetDateTime.parse(text.strip()).toInstant();
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException("must be an ISO-8601 time with its offset, such as 2026-12-01T08:00:00Z, "
          + "was '" + text + "'", e);
    }
  }
}

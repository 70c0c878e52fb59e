package eu.hanse.coordinator.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class MaintenanceWindowTest {
  // 2026-12-01 is a Tuesday.
  private static Instant at(String time) {
    return Instant.parse(time);
  }

  @Test
  void aWeeklyWindowCoversItsDayFromStartToEnd() {
    MaintenanceWindow window = MaintenanceWindow.parse("weekly tue 06:00-10:00");
    assertFalse(window.contains(at("2026-12-01T05:59:59Z")));
    assertTrue(window.contains(at("2026-12-01T06:00:00Z")));
    assertTrue(window.contains(at("2026-12-08T09:59:59Z")), "the next Tuesday too");
    assertFalse(window.contains(at("2026-12-01T10:00:00Z")), "the end is not in the window");
    assertFalse(window.contains(at("2026-12-02T07:00:00Z")), "a Wednesday");
    assertEquals("weekly tue 06:00-10:00", window.describe());
  }

  @Test
  void aWindowPastMidnightRunsIntoTheNextDay() {
    MaintenanceWindow weekly = MaintenanceWindow.parse("weekly sun 22:00-02:00");
    assertTrue(weekly.contains(at("2026-11-29T23:00:00Z")), "Sunday night");
    assertTrue(weekly.contains(at("2026-11-30T01:59:00Z")), "early Monday");
    assertFalse(weekly.contains(at("2026-11-30T22:30:00Z")), "Monday night is not Sunday night");
    MaintenanceWindow daily = MaintenanceWindow.parse("daily 23:30-00:30");
    assertTrue(daily.contains(at("2026-12-03T23:45:00Z")));
    assertTrue(daily.contains(at("2026-12-04T00:15:00Z")));
    assertFalse(daily.contains(at("2026-12-04T12:00:00Z")));
  }

  @Test
  void aOneOffWindowIsAStretchOfTimeWithAnOffset() {
    MaintenanceWindow window = MaintenanceWindow.parse("2026-12-24T00:00Z/2026-12-27T00:00+01:00");
    assertTrue(window.contains(at("2026-12-26T22:59:00Z")));
    assertFalse(window.contains(at("2026-12-26T23:00:00Z")), "midnight at +01:00 is 23:00 UTC");
  }

  @Test
  void malformedWindowsAreRefusedWithTheFormsThatWork() {
    assertTrue(assertThrows(IllegalArgumentException.class, () -> MaintenanceWindow.parse("tuesdays"))
        .getMessage().contains("'weekly tue HH:MM-HH:MM'"));
    assertThrows(IllegalArgumentException.class, () -> MaintenanceWindow.parse("daily 25:00-26:00"));
    assertThrows(IllegalArgumentException.class, () -> MaintenanceWindow.parse("daily 06:00-06:00"));
    assertThrows(IllegalArgumentException.class, () -> MaintenanceWindow.parse("2026-12-24T00:00/2026-12-25T00:00"),
        "a time without an offset is not UTC, it is nowhere");
  }
}

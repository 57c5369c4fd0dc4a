// The one pinned QuestDB version. 9.3.4 is the newest release on Maven Central (checked
// 2026-11-27) and runs on the machine's default Java 17; docker-compose.yml uses the same
// version's image (a test keeps the two in step).
export const QUESTDB_VERSION = "9.3.4";

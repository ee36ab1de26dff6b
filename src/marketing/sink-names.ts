/**
 * Names of the marketing ingest sinks (the worker's registry keys) and the programs-per-export
 * limit. The phase functions restate them with these literal types (`typeof`), so tsc fails
 * when the two sides drift apart while the workflow imports nothing from src/ at run time.
 */
export const MARKETING_ACTIVITIES_SINK = 'marketingActivities';
export const MARKETING_PROGRAM_MEMBERS_SINK = 'marketingProgramMembers';
export const MARKETING_CUSTOM_OBJECTS_SINK = 'marketingCustomObjects';

/** Marketo's limit on programs per program member export (`programIds`). */
export const PROGRAMS_PER_MEMBER_EXPORT = 10;


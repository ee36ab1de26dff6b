/** Activity type ids the emulator generates itself (marketo-api.md §9.2). */
export const ACTIVITY = {
  fillOutForm: 2,
  newLead: 12,
  changeDataValue: 13,
  changeScore: 22,
  addToList: 24,
  removeFromList: 25,
  mergeLeads: 32,
  addToOpportunity: 34,
  removeFromOpportunity: 35,
  deleteLead: 37,
  changeStatusInProgression: 104,
  pushLead: 145,
} as const;

export interface ActivityTypeAttribute {
  name: string;
  dataType: string;
  apiName?: string;
}

export interface ActivityType {
  id: number;
  name: string;
  description: string;
  apiName?: string;
  /** Custom types: epoch seconds, shown by /activities/external/types.json. */
  createdAt?: number;
  /** Custom object "Add to" types are system-made: not listed as external types. */
  external?: boolean;
  primaryAttribute?: ActivityTypeAttribute;
  attributes: ActivityTypeAttribute[];
}

const s = (name: string, dataType = 'string'): ActivityTypeAttribute => ({ name, dataType });

/** Standard types returned by /rest/v1/activities/types.json. */
export const STANDARD_ACTIVITY_TYPES: ActivityType[] = [
  { id: 1, name: 'Visit Webpage', description: 'User visits a web page', primaryAttribute: s('Webpage ID', 'integer'), attributes: [s('Client IP Address'), s('Query Parameters'), s('Referrer URL'), s('Search Engine'), s('Search Query'), s('User Agent'), s('Webpage URL')] },
  { id: 2, name: 'Fill Out Form', description: 'User fills out and submits form on web page', primaryAttribute: s('Webform ID', 'integer'), attributes: [s('Client IP Address'), s('Form Fields', 'text'), s('Query Parameters'), s('Referrer URL'), s('User Agent'), s('Webpage ID', 'integer')] },
  { id: 3, name: 'Click Link', description: 'User clicks link on a page', primaryAttribute: s('Link ID', 'integer'), attributes: [s('Client IP Address'), s('Query Parameters'), s('Referrer URL'), s('User Agent'), s('Webpage URL')] },
  { id: 6, name: 'Send Email', description: 'Send Marketo Email to a person', primaryAttribute: s('Mailing ID', 'integer'), attributes: [s('Campaign Run ID', 'integer'), s('Step ID', 'integer')] },
  { id: 7, name: 'Email Delivered', description: 'Marketo Email is delivered to a person', primaryAttribute: s('Mailing ID', 'integer'), attributes: [s('Campaign Run ID', 'integer'), s('Choice Number', 'integer'), s('Step ID', 'integer')] },
  { id: 8, name: 'Email Bounced', description: 'Marketo Email is bounced for a person', primaryAttribute: s('Mailing ID', 'integer'), attributes: [s('Campaign Run ID', 'integer'), s('Category'), s('Details'), s('Email'), s('Subcategory')] },
  { id: 9, name: 'Unsubscribe Email', description: 'Person unsubscribes from Marketo Emails', primaryAttribute: s('Mailing ID', 'integer'), attributes: [s('Client IP Address'), s('Form Fields', 'text'), s('Query Parameters'), s('Referrer URL'), s('User Agent'), s('Webform ID', 'integer'), s('Webpage ID', 'integer')] },
  { id: 10, name: 'Open Email', description: 'User opens Marketo Email', primaryAttribute: s('Mailing ID', 'integer'), attributes: [s('Campaign Run ID', 'integer'), s('Device'), s('Is Mobile Device', 'boolean'), s('Platform'), s('User Agent')] },
  { id: 11, name: 'Click Email', description: 'User clicks on a link in a Marketo Email', primaryAttribute: s('Mailing ID', 'integer'), attributes: [s('Campaign Run ID', 'integer'), s('Link'), s('Link ID')] },
  { id: 12, name: 'New Lead', description: 'New person/record is added to the lead database', attributes: [s('Created Date', 'date'), s('Source Type')] },
  { id: 13, name: 'Change Data Value', description: 'Changed attribute value for a person', primaryAttribute: s('Attribute Name', 'integer'), attributes: [s('New Value'), s('Old Value'), s('Reason'), s('Source'), s('Campaign'), s('Channel')] },
  { id: 22, name: 'Change Score', description: 'Change a score value for a person', primaryAttribute: s('Score Name', 'integer'), attributes: [s('Change Value'), s('New Value', 'integer'), s('Old Value', 'integer'), s('Reason')] },
  { id: 24, name: 'Add to List', description: 'Person is added to a list', primaryAttribute: s('List ID', 'integer'), attributes: [s('Source')] },
  { id: 25, name: 'Remove from List', description: 'Person is removed from a list', primaryAttribute: s('List ID', 'integer'), attributes: [s('Source')] },
  { id: 32, name: 'Merge Leads', description: 'Merge two or more people', primaryAttribute: s('Lead ID', 'integer'), attributes: [s('Merge IDs'), s('Merge Source'), s('Merged in Sales', 'boolean'), s('Master Updated', 'boolean')] },
  // Attributes as Adobe lists them (Lead Activity Data Stream event list: "Oppty ID, Is Primary, Role");
  // the seed reads Oppty ID as the opportunity's idField (marketoGUID) for Get Opportunities.
  { id: 34, name: 'Add to Opportunity', description: 'Add to an Opportunity', primaryAttribute: s('Opportunity ID', 'integer'), attributes: [s('Oppty ID'), s('Is Primary', 'boolean'), s('Role')] },
  { id: 35, name: 'Remove from Opportunity', description: 'Remove from an Opportunity', primaryAttribute: s('Opportunity ID', 'integer'), attributes: [s('Is Primary', 'boolean'), s('Role')] },
  { id: 37, name: 'Delete Lead', description: 'Delete a lead', primaryAttribute: s('Lead ID', 'integer'), attributes: [s('Remove from CRM', 'boolean')] },
  { id: 46, name: 'Interesting Moment', description: 'Interesting moment', primaryAttribute: s('Marketo Asset ID', 'integer'), attributes: [s('Date', 'datetime'), s('Description'), s('Source'), s('Type')] },
  { id: 104, name: 'Change Status in Progression', description: 'Change a status in a program progression', primaryAttribute: s('Program ID', 'integer'), attributes: [s('Acquired By', 'boolean'), s('New Status'), s('New Status ID', 'integer'), s('Old Status'), s('Old Status ID', 'integer'), s('Program Member ID', 'integer'), s('Reason'), s('Success', 'boolean')] },
  { id: 145, name: 'Push Lead to Marketo', description: 'Push lead data to Marketo', primaryAttribute: s('Program ID', 'integer'), attributes: [s('Reason'), s('Source')] },
];

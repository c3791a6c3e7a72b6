/**
 * The fixed text of the `sonnet` dataset: William Shakespeare's Sonnets 18 and 116 (1609, public
 * domain), one line per entry, as vLLM's sonnet benchmark samples lines of a poem.
 */
export const SONNET_LINES: readonly string[] = [
  "Shall I compare thee to a summer's day?",
  'Thou art more lovely and more temperate:',
  'Rough winds do shake the darling buds of May,',
  "And summer's lease hath all too short a date;",
  'Sometime too hot the eye of heaven shines,',
  'And often is his gold complexion dimm\'d;',
  'And every fair from fair sometime declines,',
  "By chance or nature's changing course untrimm'd;",
  'But thy eternal summer shall not fade,',
  "Nor lose possession of that fair thou ow'st;",
  "Nor shall Death brag thou wander'st in his shade,",
  "When in eternal lines to time thou grow'st:",
  'So long as men can breathe or eyes can see,',
  'So long lives this, and this gives life to thee.',
  'Let me not to the marriage of true minds',
  'Admit impediments. Love is not love',
  'Which alters when it alteration finds,',
  'Or bends with the remover to remove.',
  'O no! it is an ever-fixed mark',
  'That looks on tempests and is never shaken;',
  'It is the star to every wandering bark,',
  "Whose worth's unknown, although his height be taken.",
  "Love's not Time's fool, though rosy lips and cheeks",
  "Within his bending sickle's compass come;",
  'Love alters not with his brief hours and weeks,',
  'But bears it out even to the edge of doom.',
  'If this be error and upon me proved,',
  "I never writ, nor no man ever loved.",
];

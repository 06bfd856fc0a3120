/* argv_redact.h: argv redaction lives in redact.h (one module); this name is kept for includes. */
#ifndef AGENTPROF_ARGV_REDACT_H
#define AGENTPROF_ARGV_REDACT_H

#include "redact.h"

#endif

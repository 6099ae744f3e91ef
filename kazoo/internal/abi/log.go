package abi

// Records of the log relay pipe: "<level digit><pid>|<text>\n", one write(2) of at most
// LogRecordMax bytes each (atomic on a pipe). Levels in Kamailio's L_* order (kz_log_level).
const (
	LogErr    = 1
	LogWarn   = 2
	LogNotice = 3
	LogInfo   = 4
	LogDebug  = 5

	LogRecordMax = 4096
)

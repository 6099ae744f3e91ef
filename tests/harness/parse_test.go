package harness

import "testing"

// Samples are real outputs of Kamailio 5.6.3 and sipp 3.6.1.

const psxSample = `{
	IDX: 0
	PID: 13685
	DSC: main process - attendant
}
{
	IDX: 1
	PID: 13689
	DSC: udp receiver child=0 sock=127.0.0.1:25060
}
{
	IDX: 6
	PID: 13694
	DSC: ctl handler
}
`

func TestParsePsx(t *testing.T) {
	ps := parsePsx(psxSample)
	if len(ps) != 3 {
		t.Fatalf("got %d procs: %+v", len(ps), ps)
	}
	if ps[0].PID != 13685 || ps[0].Desc != "main process - attendant" ||
		ps[1].PID != 13689 || ps[1].Desc != "udp receiver child=0 sock=127.0.0.1:25060" ||
		ps[2].PID != 13694 || ps[2].Desc != "ctl handler" {
		t.Fatalf("bad parse: %+v", ps)
	}
}

// The date columns contain tabs, never ';'. Lines are shortened after FailedCall(C).
const statSample = "StartTime;LastResetTime;CurrentTime;ElapsedTime(P);ElapsedTime(C);TargetRate;CallRate(P);CallRate(C);IncomingCall(P);IncomingCall(C);OutgoingCall(P);OutgoingCall(C);TotalCallCreated;CurrentCall;SuccessfulCall(P);SuccessfulCall(C);FailedCall(P);FailedCall(C);FailedCannotSendMessage(P);\n" +
	"2026-11-25\t21:19:30.810464\t1795641570.810464;2026-11-25\t21:19:30.810464\t1795641570.810464;2026-11-25\t21:19:30.810896\t1795641570.810896;00:00:00;00:00:00;10;0;0;0;0;0;0;0;0;0;0;0;0;0;\n" +
	"2026-11-25\t21:19:30.810464\t1795641570.810464;2026-11-25\t21:19:31.811474\t1795641571.811474;2026-11-25\t21:19:31.812970\t1795641571.812970;00:00:00;00:00:01;10;1000;9.98004;0;0;1;10;10;0;1;7;0;3;0;\n"

func TestParseSippStat(t *testing.T) {
	s, f, ok := parseSippStat(statSample)
	if !ok || s != 7 || f != 3 {
		t.Fatalf("got %d %d %v", s, f, ok)
	}
	if _, _, ok := parseSippStat("StartTime;SuccessfulCall(C);FailedCall(C);\n"); ok {
		t.Fatalf("header only must not parse")
	}
}

const screenSample = `----------------------------- Statistics Screen ------- [1-9]: Change Screen --
  Counter Name           | Periodic value            | Cumulative value
-------------------------+---------------------------+--------------------------
  Successful call        |        0                  |       9                 
  Failed call            |        0                  |        1                 
------------------------------ Test Terminated --------------------------------
  Successful call        |        0                  |       10                 
  Failed call            |        0                  |        2                 
`

func TestParseSippScreen(t *testing.T) {
	s, f, ok := parseSippScreen(screenSample)
	if !ok || s != 10 || f != 2 {
		t.Fatalf("got %d %d %v", s, f, ok)
	}
}

//go:build race

package kzjson

const raceEnabled = true

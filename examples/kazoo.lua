-- kazoo.so through KEMI, in Lua (examples/kazoo-lua.cfg loads it). An INFO queries
-- "demo.query", which this same node consumes and answers in ksr_kazoo_event: the whole
-- request/reply loop of Kazoo in one file.

-- Values from SIP go into JSON strings: escape what JSON needs.
local function js(s)
	s = s or ""
	return (s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end))
end

function ksr_request_route()
	if KSR.is_OPTIONS() then
		KSR.sl.send_reply(200, "OK")
		return
	end
	if KSR.is_MESSAGE() then
		local rc = KSR.kazoo.publish("kazoo_demo", "demo.message." .. KSR.pv.get("$(rU{kz.encode})"),
			'{"Event-Category": "demo", "Event-Name": "sip_message", "From": "' .. js(KSR.pv.get("$fu")) ..
			'", "Body": "' .. js(KSR.pv.get("$rb")) .. '"}')
		if rc == 1 then
			KSR.sl.send_reply(200, "Published")
		else
			KSR.sl.send_reply(500, "Not Published")
		end
		return
	end
	if KSR.is_INFO() and KSR.pv.get("$rU") == "async" then
		-- an asynchronous query: the transaction waits, the SIP worker goes on; the answer
		-- (or the failure) calls one of the two functions below in a kazoo consumer process
		if KSR.kazoo.async_query("kazoo_demo", "demo.query", '{"Event-Category": "demo", "Event-Name": "ping"}',
				"ksr_demo_answered", "ksr_demo_failed") < 0 then
			KSR.sl.send_reply(500, "Not Queried")
		end
		KSR.x.exit()
	end
	if KSR.is_INFO() then
		-- a synchronous query: the reply is in $kzR, read with the kz.json transformation
		if KSR.kazoo.query("kazoo_demo", "demo.query", '{"Event-Category": "demo", "Event-Name": "ping"}') == 1 then
			KSR.hdr.append_to_reply("X-Answer: " .. (KSR.pv.get("$(kzR{kz.json,Event-Name})") or "") .. "\r\n")
			KSR.sl.send_reply(200, "Answered")
		else
			KSR.sl.send_reply(503, "No Answer")
		end
		return
	end
	KSR.sl.send_reply(405, "Method Not Allowed")
end

function ksr_demo_answered(evname)
	KSR.hdr.append_to_reply("X-Answer: " .. (KSR.pv.get("$(kzR{kz.json,Event-Name})") or "") .. "\r\n")
	KSR.tm.t_reply(200, "Answered")
end

function ksr_demo_failed(evname)
	KSR.tm.t_reply(503, "No Answer")
end

function ksr_kazoo_event(evname)
	if evname == "kazoo:mod-init" then
		-- one queue shared by every node: Kazoo's requests are spread over them
		KSR.kazoo.subscribe('{"name": "lua-demo", "exchange": "kazoo_demo", "type": "topic", ' ..
			'"queue": "kazoo-demo-query", "routing": "demo.query", "no_ack": false}')
		return
	end
	local category = KSR.pv.get("$(kzE{kz.json,Event-Category})")
	if category == "connection" then
		KSR.info("kazoo connection event: " .. KSR.pv.get("$(kzE{kz.json,Event-Name})") .. "\n")
		return
	end
	if category == "demo" and KSR.pv.get("$(kzE{kz.json,Event-Name})") == "ping" then
		-- answer through the broker the request came from (Server-ID is consumer://<id>/...)
		KSR.kazoo.publish("targeted", KSR.pv.get("$(kzE{kz.json,Server-ID})"),
			'{"Event-Category": "demo", "Event-Name": "pong", "Msg-ID": "' .. KSR.pv.get("$(kzE{kz.json,Msg-ID})") .. '"}')
	end
end

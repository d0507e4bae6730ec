-- Many chapters through one pandoc process (`pandoc lua chapters.lua`): a process's start
-- costs about as much as a chapter's reading. Each chapter is read, filtered and written on
-- its own, exactly as
--   pandoc -f READER -t html5 --mathml --wrap=none --section-divs
--          -L porting.lua -L article.lua --id-prefix PREFIX
-- would (tests/test_pandoc.py holds the two equal), so a chapter renders the same alone
-- or beside others. The caller (sitegen.pandoc) expands tabs as the command line does.
--
-- stdin:  JSON {reader, abbreviations = [...], filters = [paths], chapters = [{markdown, id_prefix}]}
-- stdout: JSON [{html} or {error}], one per chapter, in order
-- stderr: "sitegen: chapter N" as each starts, so a run stopped on its time names the chapter

local job = pandoc.json.decode(io.read("a"), false)

-- the command line reads its abbreviations file into a set; given as a list, pandoc.read
-- would take the list's indices (1, 2, ...) for abbreviations
local abbreviations = {}
for _, a in ipairs(job.abbreviations) do
  abbreviations[a] = true
end

local out = {}
for i, ch in ipairs(job.chapters) do
  io.stderr:write("sitegen: chapter " .. i .. "\n")
  local ok, result = pcall(function()
    local doc = pandoc.read(ch.markdown, job.reader, { abbreviations = abbreviations })
    for _, filter in ipairs(job.filters) do
      doc = pandoc.utils.run_lua_filter(doc, filter)  -- a fresh environment each, as -L gives
    end
    local html = pandoc.write(doc, "html5", { html_math_method = "mathml", wrap_text = "wrap-none",
                                             section_divs = true, identifier_prefix = ch.id_prefix })
    return html .. "\n"  -- the command line ends its output with a newline
  end)
  out[i] = ok and { html = result } or { error = tostring(result) }
end
io.write(pandoc.json.encode(out))

-- Turns pandoc's reading of a chapter into placeholders that the Python
-- post-pass numbers across the whole article (chapters render one by one,
-- so numbers cannot be decided here):
--   [@he2016; @veit2016]  -> <span class="citation" data-cites="he2016 veit2016"></span>
--   @he2016 (in the text) -> the same with data-narrative: "He et al. [1]"
--   @fig:name, [@eq:name] -> <a class="xref" data-ref="fig:name"></a>
--   $$ ... $$ {#eq:name}  -> <span class="equation" data-label="eq:name">
--                              <span class="equation-body"> math </span></span>
--   Table: caption {#tbl:name} -> <table data-label="tbl:name"> (numbered by the post-pass)
--   ![caption](x.svg){#fig:name} -> the slot figure("name") makes, its source in a comment
--   ::: {#fig:name layout-ncol=2} (sub-figures, then a caption; checked by porting.lua)
--                         -> the same slot, its sub-figures and captions before it

local xref_prefixes = { fig = true, eq = true, tbl = true, sec = true }

local function is_xref(id)
  local prefix = id:match("^(%a+):")
  return prefix ~= nil and xref_prefixes[prefix] == true
end

local function attr_text(inlines)
  -- a prefix or locator as plain text, safe inside an HTML attribute
  local text = pandoc.utils.stringify(inlines):gsub("^[,%s]+", ""):gsub("%s+$", "")
  return (text:gsub("&", "&amp;"):gsub('"', "&quot;"):gsub("<", "&lt;"):gsub(">", "&gt;"))
end

function Cite(el)
  local out = pandoc.List()
  local keys = pandoc.List()
  local function emit(html)
    -- "@eq:grad [@vaswani2017]" is one Cite to pandoc: keep the space the author typed
    if #out > 0 then out:insert(pandoc.Space()) end
    out:insert(pandoc.RawInline("html", html))
  end
  local function flush()
    if #keys > 0 then
      emit('<span class="citation" data-cites="' .. table.concat(keys, " ") .. '"></span>')
      keys = pandoc.List()
    end
  end
  for _, c in ipairs(el.citations) do
    if c.id:find("[%s\"'<>&{}=`]") then
      -- a braced key ([@{...}]) with characters no key has: reported by the post-pass, never
      -- written into an attribute as it is
      flush()
      emit('<span class="bad-key" data-key="' .. c.id:gsub("&", "&amp;"):gsub('"', "&quot;"):gsub("<", "&lt;")
           :gsub(">", "&gt;") .. '"></span>')
    elseif is_xref(c.id) then
      flush()
      if #out > 0 then out:insert(pandoc.Str(",")) end
      emit('<a class="xref" data-ref="' .. c.id .. '"></a>')
      if #c.suffix > 0 then out:insert(pandoc.Space()) out:extend(c.suffix) end
    elseif c.mode == "AuthorInText" then
      -- @he2016 proposed -> He et al. [1] proposed (the names from references.bib, by the post-pass)
      flush()
      emit('<span class="citation" data-cites="' .. c.id .. '" data-prefix="" data-suffix="' .. attr_text(c.suffix) ..
           '" data-narrative=""></span>')
    elseif #c.prefix > 0 or #c.suffix > 0 then
      -- [see @he2016, Table 6] -> [see 1, Table 6]: a bracket of its own
      flush()
      emit('<span class="citation" data-cites="' .. c.id .. '" data-prefix="' .. attr_text(c.prefix) ..
           '" data-suffix="' .. attr_text(c.suffix) .. '"></span>')
    else
      keys:insert(c.id)
    end
  end
  flush()
  return out
end

-- "a, \qquad b" -> {"a,", "b"}: separate statements, split where no brace or
-- \left..\right is open, so each can wrap onto its own line on a narrow screen
-- (MathML has no line breaking in browsers).
local function split_statements(tex)
  local parts, depth, start, i = {}, 0, 1, 1
  while i <= #tex do
    local c = tex:sub(i, i)
    if c == "{" then depth = depth + 1
    elseif c == "}" then depth = depth - 1
    elseif tex:match("^\\left[^%a]", i) then depth = depth + 1
    elseif tex:match("^\\right[^%a]", i) then depth = depth - 1
    elseif depth == 0 and tex:match("^\\qquad%f[^%a]", i) then
      parts[#parts + 1] = tex:sub(start, i - 1)
      start = i + 6
    end
    i = i + (c == "\\" and 2 or 1)
  end
  parts[#parts + 1] = tex:sub(start)
  local out = pandoc.List()
  for _, part in ipairs(parts) do
    part = part:gsub("^%s+", ""):gsub("%s+$", "")
    if part ~= "" then out:insert(pandoc.Math("DisplayMath", part)) end
  end
  return out
end

-- A display equation followed by {#eq:label} in the same paragraph.
local function label_equations(inlines)
  local out = pandoc.List()
  local i = 1
  while i <= #inlines do
    local el = inlines[i]
    if el.t == "Math" and el.mathtype == "DisplayMath" then
      local j = i + 1
      if inlines[j] and inlines[j].t == "Space" then j = j + 1 end
      local label = inlines[j] and inlines[j].t == "Str" and inlines[j].text:match("^{#(eq:[%w_%-%.]+)}$")
      local attr = pandoc.Attr("", { "equation" }, label and { { "data-label", label } } or {})
      local body = pandoc.Span(split_statements(el.text), pandoc.Attr("", { "equation-body" }))
      out:insert(pandoc.Span({ body }, attr))
      i = label and (j + 1) or (i + 1)
    else
      out:insert(el)
      i = i + 1
    end
  end
  return out
end

local function caption_html(inlines)
  -- its own HTML, so the post-pass finds its citations and references
  local caption = pandoc.write(pandoc.Pandoc({ pandoc.Plain(inlines) }), "html",
                               { html_math_method = "mathml", wrap_text = "none" })
  return pandoc.RawBlock("html", '<figcaption class="image-caption">' .. caption:gsub("%s+$", "") .. "</figcaption>")
end

local function comment(kind, info)
  local json = pandoc.json.encode(info):gsub("%-%-", "\\u002d\\u002d")  -- no "--" inside a comment
  return pandoc.RawBlock("html", "<!--" .. kind .. " " .. json .. "-->")
end

local function width_of(classes)
  local width = ""
  for _, c in ipairs(classes) do
    local w = c:match("^l%-(%a+)$") or c
    if w == "body" or w == "page" or w == "screen" then width = w end
  end
  return width
end

local function image_info(img, label)
  local attrs = {}
  for k, v in pairs(img.attributes) do attrs[k] = v end
  return { label = label, src = img.src, classes = img.classes, attributes = attrs }
end

local function slot(label, classes)
  return pandoc.RawBlock("html", "<p><!--figure:" .. label .. ":" .. width_of(classes) .. "--></p>")
end

-- ![caption](path.svg){#fig:name alt="..."} alone in a paragraph: an author's figure.
-- It becomes the same slot as figure("name"), numbered with the plot figures by the
-- post-pass, and a comment before it carrying what sitegen.render.images needs (JSON).
local function image_figure(el)
  if #el.content ~= 1 or el.content[1].t ~= "Image" then return nil end
  local img = el.content[1]
  local label = img.identifier:match("^fig:([%w_%.%-]+)$")
  if not label then return nil end
  return { comment("image-figure", image_info(img, label)), caption_html(img.caption), slot(label, img.classes) }
end

-- ::: {#fig:name layout-ncol=2}: one figure of several images, each with its caption (and its
-- own label, if any), and the caption they share; laid out by sitegen.render.images.
local function figure_div(el)
  local label = el.identifier:match("^fig:([%w_%.%-]+)$")
  if not label then return nil end
  el = el:walk({ Cite = Cite })  -- the captions' references, as the rest of the chapter's
  local parts, captions, shared = {}, {}, pandoc.Inlines({})
  for _, block in ipairs(el.content) do
    local img = block.content and #block.content == 1 and block.content[1].t == "Image" and block.content[1]
    if img then
      parts[#parts + 1] = image_info(img, img.identifier:match("^fig:([%w_%.%-]+)$") or "")
      captions[#captions + 1] = caption_html(img.caption)
    else
      shared = block.content
    end
  end
  local attrs = {}
  for k, v in pairs(el.attributes) do attrs[k] = v end
  local out = { comment("figure-group", { label = label, classes = el.classes, attributes = attrs, parts = parts }) }
  for _, c in ipairs(captions) do out[#out + 1] = c end
  out[#out + 1] = caption_html(shared)
  out[#out + 1] = slot(label, el.classes)
  return out
end

-- Handlers return nothing where they change nothing: pandoc then keeps its own element
-- instead of reading back the filter's copy (most paragraphs hold no display equation).
local function has_display_math(inlines)
  for _, el in ipairs(inlines) do
    if el.t == "Math" and el.mathtype == "DisplayMath" then return true end
  end
  return false
end

local function Para(el)
  local fig = image_figure(el)
  if fig then return fig end
  if not has_display_math(el.content) then return nil end
  el.content = label_equations(el.content)
  return el
end

local function Plain(el)
  if not has_display_math(el.content) then return nil end
  el.content = label_equations(el.content)
  return el
end

-- A table's {#tbl:label} becomes data-label, so the chapter's id prefix leaves it alone.
local function Table(el)
  if not el.identifier:match("^tbl:") then return nil end
  el.attributes["data-label"] = el.identifier
  el.identifier = ""
  return el
end

return {
  { Div = figure_div },
  { Cite = Cite, Para = Para, Plain = Plain, Table = Table },
}
